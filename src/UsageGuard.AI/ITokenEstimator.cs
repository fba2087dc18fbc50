using Microsoft.Extensions.AI;

namespace UsageGuard.AI;

/// <summary>Estimates tokens before a call (its input) and when a provider reports no usage (its output): what the reservation holds, and what an estimated settlement charges.</summary>
/// <remarks>Implementations must be thread-safe. Plug in a real tokenizer for exact holds; supply an exact count per call with <see cref="UsageProperties.InputTokens"/>.</remarks>
public interface ITokenEstimator
{
    /// <summary>Estimates the input tokens of a call.</summary>
    /// <param name="messages">The messages sent.</param>
    /// <param name="options">The call's options (tools and instructions count too).</param>
    /// <returns>The estimate; zero or more.</returns>
    long EstimateInputTokens(IEnumerable<ChatMessage> messages, ChatOptions? options);

    /// <summary>Estimates the tokens of generated text from its length.</summary>
    /// <param name="characters">The characters of text generated.</param>
    /// <returns>The estimate; zero or more.</returns>
    long EstimateOutputTokens(long characters);
}

/// <summary>
/// The default estimator: four characters per token, rounded up, plus four tokens per message for its framing; tool definitions count
/// by the length of their names, descriptions and schemas. Close enough for a hold (the settlement charges what the provider reports);
/// deliberately not a tokenizer, so it needs no model files.
/// </summary>
public sealed class CharacterTokenEstimator : ITokenEstimator
{
    /// <summary>The shared instance.</summary>
    public static readonly CharacterTokenEstimator Instance = new();

    /// <summary>The characters counted as one token.</summary>
    public const int CharactersPerToken = 4;

    /// <summary>The tokens counted per message for its role and framing.</summary>
    public const int TokensPerMessage = 4;

    /// <inheritdoc />
    public long EstimateInputTokens(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        long characters = options?.Instructions?.Length ?? 0;
        long framing = 0;

        // Indexed where the collections allow it: enumerating an IList through IEnumerable allocates an enumerator per call.
        if (messages is IList<ChatMessage> list)
        {
            for (int i = 0; i < list.Count; i++)
            {
                framing += TokensPerMessage;
                characters += Characters(list[i]);
            }
        }
        else
        {
            foreach (ChatMessage message in messages)
            {
                framing += TokensPerMessage;
                characters += Characters(message);
            }
        }

        if (options?.Tools is { Count: > 0 } tools)
        {
            for (int i = 0; i < tools.Count; i++)
            {
                AITool tool = tools[i];
                characters += tool.Name.Length + (tool.Description?.Length ?? 0) + (tool is AIFunctionDeclaration f ? f.JsonSchema.GetRawText().Length : 0);
            }
        }

        return framing + EstimateOutputTokens(characters);
    }

    private static long Characters(ChatMessage message)
    {
        long characters = 0;
        IList<AIContent> contents = message.Contents;
        for (int i = 0; i < contents.Count; i++)
        {
            characters += contents[i] switch
            {
                TextContent text => text.Text?.Length ?? 0,
                TextReasoningContent reasoning => reasoning.Text?.Length ?? 0,
                FunctionCallContent call => call.Name.Length + (call.Arguments?.Sum(a => a.Key.Length + (a.Value?.ToString()?.Length ?? 0)) ?? 0),
                FunctionResultContent result => result.Result?.ToString()?.Length ?? 0,
                _ => 0,
            };
        }

        return characters;
    }

    /// <inheritdoc />
    public long EstimateOutputTokens(long characters) => characters <= 0 ? 0 : ((characters - 1) / CharactersPerToken) + 1;
}
