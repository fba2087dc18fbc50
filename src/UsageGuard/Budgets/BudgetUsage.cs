namespace UsageGuard;

/// <summary>Where one limit of one budget stands in a window: what is used, held and left.</summary>
/// <param name="BudgetId">The budget's id.</param>
/// <param name="Subject">The subject node the budget caps, or <see langword="null"/> for a customer-wide budget.</param>
/// <param name="SessionId">The session, for a per-session budget's copy; otherwise <see langword="null"/>.</param>
/// <param name="Measure">What the limit counts.</param>
/// <param name="Enforcement">What happens at the limit.</param>
/// <param name="Window">The window, or <see langword="null"/> for a limit without one.</param>
/// <param name="WindowStart">When the window starts, or <see langword="null"/> for a limit without one.</param>
/// <param name="WindowEnd">When the window ends (resets), or <see langword="null"/> for a limit without one.</param>
/// <param name="Limit">The limit, in credits of the budget's credit type or in requests, tokens or leases.</param>
/// <param name="Used">What settled reservations used in the window (in flight: always 0).</param>
/// <param name="Held">What reservations not yet settled hold in the window.</param>
/// <param name="Remaining">What is left under the limit: limit less used and held, never below zero.</param>
/// <param name="Overage">What used and held exceed the limit by (soft and throttled limits, and settlements above their holds).</param>
/// <param name="Tripped">Whether the session's circuit breaker is open, for a per-session budget's copy.</param>
public readonly record struct BudgetUsage(
    string BudgetId,
    string? Subject,
    string? SessionId,
    LimitMeasure Measure,
    LimitEnforcement Enforcement,
    UsageWindow? Window,
    DateTimeOffset? WindowStart,
    DateTimeOffset? WindowEnd,
    decimal Limit,
    decimal Used,
    decimal Held,
    decimal Remaining,
    decimal Overage,
    bool Tripped);
