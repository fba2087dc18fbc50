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

    /// <summary>Denied: the customer's plan, add-ons and overrides do not give the feature (or the customer has no subscription in force); nothing was held.</summary>
    NotEntitled = 3,

    /// <summary>Denied: the metered feature's window has no room for the quantity (a soft limit's overage cap included); nothing was held.</summary>
    LimitReached = 4,

    /// <summary>Denied: the catalog does not define the feature and <see cref="CatalogOptions.UnknownFeatures"/> is <see cref="UnknownPolicy.Deny"/>.</summary>
    UnknownFeature = 5,

    /// <summary>Denied: the rate card has no rate for the model and <see cref="CatalogOptions.UnknownModels"/> is <see cref="UnknownPolicy.Deny"/>; never priced at zero.</summary>
    UnknownModel = 6,

    /// <summary>Denied: a budget's credit limit (hard, or soft past its overage cap) has no room in its window; <see cref="ReservationResult.Budget"/> names the budget, its subject and window. Nothing was held.</summary>
    BudgetExceeded = 7,

    /// <summary>Denied: a budget's request or token limit has no room in its window, or a throttled limit is past its threshold and its next slot is not due (see the retry-after). Nothing was held.</summary>
    RateLimited = 8,

    /// <summary>Denied: a budget's limit on requests in flight is reached; a slot frees when one of them settles, is released or expires. Nothing was held.</summary>
    ConcurrencyLimited = 9,

    /// <summary>Denied: the session's circuit breaker is open, because a per-session budget refused one of its requests; every later request of the session is denied until <see cref="IUsageGovernance.ResetSession"/>. Nothing was held.</summary>
    SessionTripped = 10,
}
