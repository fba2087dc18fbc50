using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace UsageGuard.AI;

/// <summary>
/// Guards every call to an inner <see cref="IChatClient"/>: before it runs, reserves its estimated cost across every pool it touches
/// (credits, budgets along the subject tree, the session, rate and concurrency limits); after it, settles the tokens the provider
/// reported, priced for the model that answered.
/// </summary>
/// <remarks>
/// <para>A refused call throws <see cref="UsageLimitExceededException"/> and never reaches the inner client. The hold is the input
/// estimate (<see cref="ITokenEstimator"/>, or the host's exact count in <see cref="UsageProperties.InputTokens"/>) plus
/// <see cref="ChatOptions.MaxOutputTokens"/> (or <see cref="UsageGuardChatClientOptions.DefaultMaxOutputTokens"/>), priced with the
/// model's rate from the catalog.</para>
/// <para>Streaming is settled once, when the stream ends: completed, broken off by the caller, cancelled, or failed. Usage from every
/// <see cref="UsageContent"/> is summed; updates are passed through as they come, never buffered. A stream that ends without
/// usage is charged from the estimate (input estimate plus the text seen), marked estimated in the ledger, never zero.</para>
/// <para>Place it inside function invocation, so every model round trip of a tool loop is reserved and settled on its own
/// (docs/ai-middleware.md). Thread-safe: one instance serves concurrent calls.</para>
/// </remarks>
public sealed class UsageGuardChatClient : DelegatingChatClient
{
    private readonly IEntitlementGuard _guard;
    private readonly UsageGuardChatClientOptions _options;
    private readonly string? _defaultModel;

    /// <summary>Initializes a new instance of the <see cref="UsageGuardChatClient"/> class.</summary>
    /// <param name="innerClient">The client that calls the model.</param>
    /// <param name="guard">The guard that reserves and settles.</param>
    /// <param name="options">The options, or <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="innerClient"/> or <paramref name="guard"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="UsageGuardChatClientOptions.DefaultMaxOutputTokens"/> is negative.</exception>
    public UsageGuardChatClient(IChatClient innerClient, IEntitlementGuard guard, UsageGuardChatClientOptions? options = null)
        : base(innerClient)
    {
        ArgumentNullException.ThrowIfNull(guard);
        _guard = guard;
        _options = options ?? new UsageGuardChatClientOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(_options.DefaultMaxOutputTokens, "options.DefaultMaxOutputTokens");
        ArgumentNullException.ThrowIfNull(_options.TokenEstimator, "options.TokenEstimator");
        _defaultModel = (innerClient.GetService(typeof(ChatClientMetadata)) as ChatClientMetadata)?.DefaultModelId ?? _options.DefaultModelId;
    }

    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        Call call = await ReserveAsync(messages, options, cancellationToken).ConfigureAwait(false);
        ChatResponse response;
        try
        {
            response = await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            await FailAsync(call, outputCharacters: 0).ConfigureAwait(false);
            throw;
        }

        long characters = response.Usage?.OutputTokenCount is null ? TextLength(response) : 0;
        await SettleAsync(call, default(ReportedUsage).Add(response.Usage), response.ModelId, characters, cut: false).ConfigureAwait(false);
        return response;
    }

    /// <inheritdoc />
    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return StreamAsync(messages, options, cancellationToken);
    }

    private async IAsyncEnumerable<ChatResponseUpdate> StreamAsync(IEnumerable<ChatMessage> messages, ChatOptions? options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Call call = await ReserveAsync(messages, options, cancellationToken).ConfigureAwait(false);

        // Summed in place rather than into a UsageDetails: a stream allocates nothing for its usage.
        ReportedUsage usage = default;
        string? model = null;
        long characters = 0;
        bool completed = false;
        bool failed = false;
        IAsyncEnumerator<ChatResponseUpdate> updates;
        try
        {
            updates = base.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        }
        catch (Exception)
        {
            await FailAsync(call, 0).ConfigureAwait(false);
            throw;
        }

        try
        {
            while (true)
            {
                ChatResponseUpdate update;
                try
                {
                    if (!await updates.MoveNextAsync().ConfigureAwait(false))
                    {
                        completed = true;
                        break;
                    }

                    update = updates.Current;
                }
                catch (Exception)
                {
                    failed = true;
                    throw;
                }

                model ??= update.ModelId;
                IList<AIContent> contents = update.Contents;

                // Indexed: enumerating the IList through its interface would allocate an enumerator per update.
                for (int i = 0; i < contents.Count; i++)
                {
                    switch (contents[i])
                    {
                        case UsageContent u:
                            usage = usage.Add(u.Details);
                            break;
                        case TextContent t:
                            characters += t.Text?.Length ?? 0;
                            break;
                        case TextReasoningContent r:
                            characters += r.Text?.Length ?? 0;
                            break;
                    }
                }

                yield return update;
            }
        }
        finally
        {
            try
            {
                await updates.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                if (failed && characters == 0 && !usage.Any)
                {
                    // Failed before it produced anything: the provider's error, before any billable output.
                    await FailAsync(call, 0).ConfigureAwait(false);
                }
                else
                {
                    // Completed, or cut off (break, cancellation, a failure mid-stream): what was produced is charged.
                    await SettleAsync(call, usage, model, characters, cut: !completed).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>Resolves who pays, estimates, and reserves; a refusal throws before the inner client is called.</summary>
    private async ValueTask<Call> ReserveAsync(IEnumerable<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        UsageContext context = UsageProperties.Read(options).Or(UsageScope.Current);
        if (context.CustomerId is null && _options.ContextResolver is { } resolve)
        {
            context = context.Or(resolve(messages, options));
        }

        string customerId = context.CustomerId
            ?? throw new InvalidOperationException($"A guarded chat call needs a customer: set ChatOptions.AdditionalProperties['{UsageProperties.CustomerId}'] (options.WithUsageContext), open a UsageScope, or configure UsageGuardChatClientOptions.ContextResolver.");
        string model = options?.ModelId ?? _defaultModel
            ?? throw new InvalidOperationException("A guarded chat call needs a model to price: set ChatOptions.ModelId, use an inner client whose metadata names a default model, or set UsageGuardChatClientOptions.DefaultModelId.");
        long input = UsageProperties.ReadInputTokens(options) ?? _options.TokenEstimator.EstimateInputTokens(messages, options);
        long maxOutput = options?.MaxOutputTokens ?? _options.DefaultMaxOutputTokens;
        var estimate = new TokenUsage(input, 0, Math.Max(0, maxOutput), 0);
        ReservationRequest request = context.Reserve(customerId, model, estimate, _options.ReservationTtl, _options.OverrunPolicy, _options.Durability);
        ReservationResult result = await _guard.ReserveAsync(request, cancellationToken).ConfigureAwait(false);
        if (!result.IsAdmitted)
        {
            throw new UsageLimitExceededException(customerId, result);
        }

        return new Call(result.Reservation, input);
    }

    /// <summary>Settles from the reported usage; without it (or for a cut stream without it), from the estimate, marked estimated.</summary>
    private ValueTask SettleAsync(in Call call, in ReportedUsage usage, string? model, long outputCharacters, bool cut) =>
        SettleCoreAsync(call.Reservation, usage.Settle(call.InputEstimate, _options.TokenEstimator.EstimateOutputTokens(outputCharacters), cut, model));

    private async ValueTask SettleCoreAsync(Reservation reservation, TokenSettlement settlement) =>
        await _guard.SettleAsync(reservation, settlement, CancellationToken.None).ConfigureAwait(false);

    /// <summary>The provider failed before it reported usage: release, or charge the estimate, as the policy says.</summary>
    private async ValueTask FailAsync(Call call, long outputCharacters)
    {
        if (_options.OnProviderError == ProviderErrorPolicy.Release)
        {
            await _guard.ReleaseAsync(call.Reservation, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        await SettleAsync(call, default, null, outputCharacters, cut: true).ConfigureAwait(false);
    }

    /// <summary>
    /// Turns Microsoft.Extensions.AI's usage (cached input counted inside input, reasoning inside output) into the four disjoint
    /// classes UsageGuard prices; a count the provider left out is estimated.
    /// </summary>
    internal static TokenUsage FromUsage(UsageDetails usage, long inputEstimate, long outputEstimate) =>
        default(ReportedUsage).Add(usage).ToTokens(inputEstimate, outputEstimate);

    private static long TextLength(ChatResponse response)
    {
        long characters = 0;
        IList<ChatMessage> messages = response.Messages;
        for (int m = 0; m < messages.Count; m++)
        {
            IList<AIContent> contents = messages[m].Contents;
            for (int i = 0; i < contents.Count; i++)
            {
                characters += contents[i] switch
                {
                    TextContent t => t.Text?.Length ?? 0,
                    TextReasoningContent r => r.Text?.Length ?? 0,
                    _ => 0,
                };
            }
        }

        return characters;
    }

    /// <summary>One admitted call: its reservation and the input it was estimated at.</summary>
    private readonly record struct Call(Reservation Reservation, long InputEstimate);
}
