namespace UsageGuard;

/// <summary>Which budget limit refused a request: the level of the subject tree, the measure and the window, and how full it was.</summary>
/// <param name="BudgetId">The budget's id.</param>
/// <param name="Subject">The subject node the budget caps, or <see langword="null"/> for a customer-wide budget.</param>
/// <param name="SessionId">The session whose copy of a per-session budget refused, or <see langword="null"/>.</param>
/// <param name="Measure">What the refusing limit counts.</param>
/// <param name="Window">The refusing limit's window, or <see langword="null"/> for a limit without one.</param>
/// <param name="Limit">The limit (in credits of the budget's credit type, or in requests, tokens or leases).</param>
/// <param name="Used">What was used and held in the window when the request was refused, in the same unit.</param>
/// <param name="WindowEnd">When the window resets, or <see langword="null"/> for a limit without a window.</param>
public readonly record struct BudgetDenial(
    string BudgetId,
    string? Subject,
    string? SessionId,
    LimitMeasure Measure,
    UsageWindow? Window,
    decimal Limit,
    decimal Used,
    DateTimeOffset? WindowEnd);
