namespace UsageGuard;

/// <summary>The answer to a one-shot consumption: the settlement when admitted, otherwise why not.</summary>
public readonly struct ConsumeResult
{
    internal ConsumeResult(ReservationStatus status, SettlementResult settlement, string? reason, string? scope, TimeSpan? retryAfter, bool replayed, BudgetDenial? budget = null)
    {
        Budget = budget;
        Status = status;
        Settlement = settlement;
        Reason = reason;
        Scope = scope;
        RetryAfter = retryAfter;
        Replayed = replayed;
    }

    /// <summary>Gets the outcome.</summary>
    public ReservationStatus Status { get; }

    /// <summary>Gets a value indicating whether the cost was charged.</summary>
    public bool IsAdmitted => Status == ReservationStatus.Admitted;

    /// <summary>Gets what was charged; the default value when denied.</summary>
    public SettlementResult Settlement { get; }

    /// <summary>Gets why the request was denied; <see langword="null"/> when admitted.</summary>
    public string? Reason { get; }

    /// <summary>Gets the pool that denied; <see langword="null"/> when admitted.</summary>
    public string? Scope { get; }

    /// <summary>Gets when trying again can succeed, or <see langword="null"/> when unknown.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Gets the budget limit that refused the request (its subject level, measure and window), or <see langword="null"/> when no budget refused it.</summary>
    /// <remarks>A replay from the store after a restart carries the status, reason, scope and retry-after, not this.</remarks>
    public BudgetDenial? Budget { get; }

    /// <summary>Gets a value indicating whether this is the remembered outcome of an earlier call with the same idempotency key.</summary>
    public bool Replayed { get; }
}
