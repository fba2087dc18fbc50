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
    internal static TokenUsage ToTokenUsage(CompletionReport report, long inputEstimate, long outputEstimate) =>
        Reported(report).ToTokens(inputEstimate, outputEstimate);

    private static ReportedUsage Reported(CompletionReport? report) =>
        report is null ? default : new ReportedUsage(report.PromptTokens, report.CachedTokens, report.CompletionTokens, report.ReasoningTokens);

    private bool TryFinish() => Interlocked.Exchange(ref _finished, 1) == 0;

    private async ValueTask SettleCoreAsync(CompletionReport? report, bool cut)
    {
        TokenSettlement settlement = Reported(report).Settle(_inputEstimate, _estimator.EstimateOutputTokens(report?.OutputCharacters ?? 0), cut, report?.Model);

        // Not the caller's token: the provider has done the work, so the settlement must be recorded even when the caller gave up.
        await _guard.SettleAsync(_reservation, settlement, CancellationToken.None).ConfigureAwait(false);
    }
}
