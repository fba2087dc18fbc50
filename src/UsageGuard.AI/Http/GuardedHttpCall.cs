namespace UsageGuard.AI;

/// <summary>One admitted chat-completions request: its reservation, settled or released exactly once, however the response ends.</summary>
/// <remarks>Thread-safe: the first of <see cref="SettleAsync"/>, <see cref="FailAsync"/> and <see cref="EndAsync"/> wins; later calls do nothing.</remarks>
internal sealed class GuardedHttpCall
{
    private readonly IEntitlementGuard _guard;
    private readonly Reservation _reservation;
    private readonly long _inputEstimate;
    private readonly ITokenEstimator _estimator;
    private readonly ProviderErrorPolicy _onProviderError;
    private int _finished;

    public GuardedHttpCall(IEntitlementGuard guard, Reservation reservation, long inputEstimate, ITokenEstimator estimator, ProviderErrorPolicy onProviderError)
    {
        _guard = guard;
        _reservation = reservation;
        _inputEstimate = inputEstimate;
        _estimator = estimator;
        _onProviderError = onProviderError;
    }

    /// <summary>Settles from the reported usage; without it, from the estimate (input estimate plus the text seen), marked estimated.</summary>
    /// <param name="report">What the response reported.</param>
    /// <param name="cut">The response ended before it was complete (a stream broken off or failed mid-way).</param>
    public ValueTask SettleAsync(CompletionReport report, bool cut) =>
        TryFinish() ? SettleCoreAsync(report, cut) : default;

    /// <summary>The provider failed before it produced anything: release the hold, or charge the input estimate, as the policy says.</summary>
    public ValueTask FailAsync() => !TryFinish() ? default
        : _onProviderError == ProviderErrorPolicy.Release ? _guard.ReleaseAsync(_reservation, CancellationToken.None)
        : SettleCoreAsync(null, cut: true);

    /// <summary>Ends a stream: a failure before any output or usage is the provider's error; anything else is settled, cut when incomplete.</summary>
    /// <param name="report">What the stream reported so far.</param>
    /// <param name="completed">The stream reached its end (<c>[DONE]</c> or the end of the body).</param>
    /// <param name="failed">Reading the stream threw.</param>
    public ValueTask EndAsync(CompletionReport report, bool completed, bool failed) =>
        failed && report.OutputCharacters == 0 && !report.HasUsage ? FailAsync() : SettleAsync(report, cut: !completed);

    /// <summary>Waits for a settlement on a synchronous path (<see cref="HttpMessageHandler"/>'s <c>Send</c>, <see cref="Stream.Read(Span{byte})"/>).</summary>
    internal static void Wait(ValueTask task)
    {
        if (task.IsCompletedSuccessfully)
        {
            return;
        }

        task.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Converts OpenAI's counts (cached a part of the prompt, reasoning a part of the completion) into the four disjoint ones; a missing count is estimated.</summary>
    internal static TokenUsage ToTokenUsage(CompletionReport report, long inputEstimate, long outputEstimate)
    {
        long input = report.PromptTokens ?? inputEstimate;
        long output = report.CompletionTokens ?? outputEstimate;
        long cached = Math.Clamp(report.CachedTokens, 0, input);
        long reasoning = Math.Clamp(report.ReasoningTokens, 0, output);
        return new TokenUsage(input - cached, cached, output - reasoning, reasoning);
    }

    private bool TryFinish() => Interlocked.Exchange(ref _finished, 1) == 0;

    private async ValueTask SettleCoreAsync(CompletionReport? report, bool cut)
    {
        long estimatedOutput = _estimator.EstimateOutputTokens(report?.OutputCharacters ?? 0);
        TokenUsage tokens;
        bool estimated;
        if (report is null || !report.HasUsage)
        {
            tokens = new TokenUsage(_inputEstimate, 0, estimatedOutput, 0);
            estimated = true;
        }
        else
        {
            tokens = ToTokenUsage(report, _inputEstimate, estimatedOutput);
            estimated = report.PromptTokens is null || report.CompletionTokens is null;
        }

        if (cut && tokens.TotalTokens == 0)
        {
            // A request cut before any output still sent its input: never settle it at zero.
            tokens = tokens with { InputTokens = _inputEstimate };
            estimated = true;
        }

        // Not the caller's token: the provider has done the work, so the settlement must be recorded even when the caller gave up.
        await _guard.SettleAsync(_reservation, new TokenSettlement(tokens) { Model = report?.Model, Estimated = estimated }, CancellationToken.None).ConfigureAwait(false);
    }
}
