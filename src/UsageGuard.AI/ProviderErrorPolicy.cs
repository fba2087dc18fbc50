namespace UsageGuard.AI;

/// <summary>What a guarded call does with its hold when the provider fails (throws) before it reported usage.</summary>
public enum ProviderErrorPolicy
{
    /// <summary>Release the whole hold: the provider is trusted not to bill a failed call. A stream that already produced output is still charged (see docs/ai-middleware.md).</summary>
    Release = 0,

    /// <summary>Charge the estimate (input estimate, plus the output seen so far), marked estimated: for providers that may bill a call that failed.</summary>
    ChargeEstimate = 1,
}
