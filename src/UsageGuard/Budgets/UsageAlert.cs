namespace UsageGuard;

/// <summary>A threshold of a budget limit was reached: raised once per threshold per window, after the settlement (or admission) that reached it.</summary>
/// <remarks>Delivered off the request path, in order of raising, to <see cref="IUsageAlertHandler"/> services and the <see cref="IUsageGovernance.AlertRaised"/> event.</remarks>
public sealed class UsageAlert
{
    /// <summary>Gets the customer.</summary>
    public required string CustomerId { get; init; }

    /// <summary>Gets the budget whose limit reached the threshold.</summary>
    public required string BudgetId { get; init; }

    /// <summary>Gets the subject node the budget caps, or <see langword="null"/> for a customer-wide budget.</summary>
    public string? Subject { get; init; }

    /// <summary>Gets the session, for a per-session budget; otherwise <see langword="null"/>.</summary>
    public string? SessionId { get; init; }

    /// <summary>Gets what the limit counts.</summary>
    public LimitMeasure Measure { get; init; }

    /// <summary>Gets the limit's window, or <see langword="null"/> for a limit without one.</summary>
    public UsageWindow? Window { get; init; }

    /// <summary>Gets when the window started, or <see langword="null"/> for a limit without one.</summary>
    public DateTimeOffset? WindowStart { get; init; }

    /// <summary>Gets when the window ends, or <see langword="null"/> for a limit without one.</summary>
    public DateTimeOffset? WindowEnd { get; init; }

    /// <summary>Gets the threshold as configured, for example <c>80%</c> or <c>2500</c>.</summary>
    public required string Threshold { get; init; }

    /// <summary>Gets the threshold in the limit's unit.</summary>
    public decimal ThresholdAmount { get; init; }

    /// <summary>Gets the limit, in the limit's unit.</summary>
    public decimal Limit { get; init; }

    /// <summary>Gets what was used in the window when the threshold was reached (in flight, for a limit on requests in flight).</summary>
    public decimal Used { get; init; }

    /// <summary>Gets when the threshold was reached.</summary>
    public DateTimeOffset RaisedAt { get; init; }
}
