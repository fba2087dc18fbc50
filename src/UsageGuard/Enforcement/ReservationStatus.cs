namespace UsageGuard;

/// <summary>The outcome of a reservation or a one-shot consumption.</summary>
/// <remarks>Expected refusals are values, not exceptions; later kinds of limits add members here.</remarks>
public enum ReservationStatus
{
    /// <summary>Admitted: every pool holds the amount.</summary>
    Admitted = 0,

    /// <summary>Denied: the wallet's usable credits do not cover the amount; nothing was held anywhere.</summary>
    InsufficientCredits = 1,

    /// <summary>
    /// Denied: the ledger store cannot take writes and <see cref="UsageGuardOptions.StoreFailurePolicy"/> is
    /// <see cref="StoreFailurePolicy.FailClosed"/>; nothing was held. Never remembered under an idempotency key, so a retry after the
    /// store recovers is decided afresh.
    /// </summary>
    StoreUnavailable = 2,
}
