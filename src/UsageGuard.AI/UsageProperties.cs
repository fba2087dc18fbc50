using Microsoft.Extensions.AI;

namespace UsageGuard.AI;

/// <summary>The keys of <see cref="ChatOptions.AdditionalProperties"/> that <see cref="UsageGuardChatClient"/> reads, and helpers to set them.</summary>
public static class UsageProperties
{
    /// <summary>The customer id (<see cref="string"/>).</summary>
    public const string CustomerId = "usageguard.customer_id";

    /// <summary>The subject (<see cref="string"/>).</summary>
    public const string Subject = "usageguard.subject";

    /// <summary>The session id (<see cref="string"/>).</summary>
    public const string SessionId = "usageguard.session_id";

    /// <summary>The feature (<see cref="string"/>).</summary>
    public const string Feature = "usageguard.feature";

    /// <summary>The tags (<see cref="IReadOnlyList{T}"/> of <see cref="string"/>).</summary>
    public const string Tags = "usageguard.tags";

    /// <summary>The host's request id (<see cref="string"/>).</summary>
    public const string RequestId = "usageguard.request_id";

    /// <summary>The exact number of input tokens, when the host counted them (<see cref="long"/> or <see cref="int"/>): used instead of the estimator.</summary>
    public const string InputTokens = "usageguard.input_tokens";

    /// <summary>Sets the context's fields on <paramref name="options"/> (creating its property bag when needed).</summary>
    /// <param name="options">The chat options of one call.</param>
    /// <param name="context">The context; empty fields are left unset.</param>
    /// <returns><paramref name="options"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    public static ChatOptions WithUsageContext(this ChatOptions options, in UsageContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        AdditionalPropertiesDictionary properties = options.AdditionalProperties ??= [];
        Set(properties, CustomerId, context.CustomerId);
        Set(properties, Subject, context.Subject);
        Set(properties, SessionId, context.SessionId);
        Set(properties, Feature, context.Feature);
        Set(properties, RequestId, context.RequestId);
        if (context.Tags is not null)
        {
            properties[Tags] = context.Tags;
        }

        return options;
    }

    /// <summary>Reads the context the call's options carry (fields not set are <see langword="null"/>).</summary>
    internal static UsageContext Read(ChatOptions? options)
    {
        if (options?.AdditionalProperties is not { Count: > 0 } properties)
        {
            return default;
        }

        return new UsageContext
        {
            CustomerId = Text(properties, CustomerId),
            Subject = Text(properties, Subject),
            SessionId = Text(properties, SessionId),
            Feature = Text(properties, Feature),
            RequestId = Text(properties, RequestId),
            Tags = properties.TryGetValue(Tags, out object? tags) ? tags as IReadOnlyList<string> ?? throw new ArgumentException($"ChatOptions.AdditionalProperties['{Tags}'] must be an IReadOnlyList<string>, not {tags?.GetType().Name ?? "null"}.", nameof(options)) : null,
        };
    }

    /// <summary>Reads the exact input token count the host supplied, or null.</summary>
    internal static long? ReadInputTokens(ChatOptions? options)
    {
        if (options?.AdditionalProperties is not { Count: > 0 } properties || !properties.TryGetValue(InputTokens, out object? value))
        {
            return null;
        }

        long count = value switch
        {
            long l => l,
            int i => i,
            _ => throw new ArgumentException($"ChatOptions.AdditionalProperties['{InputTokens}'] must be a long or an int, not {value?.GetType().Name ?? "null"}.", nameof(options)),
        };
        return count >= 0 ? count : throw new ArgumentOutOfRangeException(nameof(options), count, $"ChatOptions.AdditionalProperties['{InputTokens}'] may not be negative.");
    }

    private static string? Text(AdditionalPropertiesDictionary properties, string key) =>
        !properties.TryGetValue(key, out object? value) ? null
            : value as string ?? throw new ArgumentException($"ChatOptions.AdditionalProperties['{key}'] must be a string, not {value?.GetType().Name ?? "null"}.", nameof(properties));

    private static void Set(AdditionalPropertiesDictionary properties, string key, string? value)
    {
        if (value is not null)
        {
            properties[key] = value;
        }
    }
}
