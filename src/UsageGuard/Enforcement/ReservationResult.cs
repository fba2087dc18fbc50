namespace UsageGuard;

/// <summary>The answer to a reservation: a handle when admitted, otherwise why not.</summary>
public readonly struct ReservationResult
{
    internal ReservationResult(ReservationStatus status, Reservation reservation, string? reason, string? scope, TimeSpan? retryAfter, bool replayed, BudgetDenial? budget = null)
    {
        Budget = budget;
        Status = status;
        Reservation = reservation;
        Reason = reason;
        Scope = scope;
        RetryAfter = retryAfter;
        Replayed = replayed;
    }

    /// <summary>Gets the outcome.</summary>
    public ReservationStatus Status { get; }

    /// <summary>Gets a value indicating whether the request was admitted.</summary>
    public bool IsAdmitted => Status == ReservationStatus.Admitted;

    /// <summary>Gets the handle to settle or release; the default value when denied.</summary>
    public Reservation Reservation { get; }

    /// <summary>Gets why the request was denied, for people; <see langword="null"/> when admitted.</summary>
    public string? Reason { get; }

    /// <summary>Gets the pool that denied, for example <c>wallet:usd</c>; <see langword="null"/> when admitted.</summary>
    public string? Scope { get; }

    /// <summary>Gets when trying again can succeed without anything else changing (a scheduled grant becomes effective), or <see langword="null"/> when unknown.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Gets the budget limit that refused the request (its subject level, measure and window), or <see langword="null"/> when no budget refused it.</summary>
    /// <remarks>A replay from the store after a restart carries the status, reason, scope and retry-after, not this.</remarks>
    public BudgetDenial? Budget { get; }

    /// <summary>Gets a value indicating whether this is the remembered outcome of an earlier call with the same idempotency key.</summary>
    public bool Replayed { get; }
}
