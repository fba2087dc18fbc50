namespace UsageGuard;

/// <summary>
/// A threshold was reached: a budget limit's usage reached it (raised once per threshold per window, after the settlement
/// or admission that reached it), or a wallet's balance fell to or below it (raised once per crossing, see <see cref="LowBalanceAlertOptions"/>).
/// </summary>
/// <remarks>
/// <para>Delivered off the request path, in order of raising, to <see cref="IUsageAlertHandler"/> services and the
/// <see cref="IUsageGovernance.AlertRaised"/> event. <see cref="Kind"/> says which of the two raised it; the properties
/// that do not apply to that kind are <see langword="null"/>.</para>
/// <para>Amounts are exact: credits in the credit type's scale, or counts of requests or tokens.</para>
/// </remarks>
public sealed class UsageAlert
{
    /// <summary>Gets what raised the alert: a budget limit or a wallet's balance.</summary>
    /// <value>The default value is <see cref="UsageAlertKind.Budget"/>.</value>
    public UsageAlertKind Kind { get; init; }

    /// <summary>Gets the customer.</summary>
    public required string CustomerId { get; init; }

    /// <summary>Gets the budget whose limit reached the threshold, or <see langword="null"/> for a wallet alert.</summary>
    public string? BudgetId { get; init; }

    /// <summary>Gets the wallet's credit type code for a wallet alert, or <see langword="null"/> for a budget alert.</summary>
    public string? CreditType { get; init; }

    /// <summary>Gets the subject node the budget caps, or <see langword="null"/> for a customer-wide budget and for a wallet alert.</summary>
    public string? Subject { get; init; }

    /// <summary>Gets the session, for a per-session budget; otherwise <see langword="null"/>.</summary>
    public string? SessionId { get; init; }

    /// <summary>Gets what the limit counts; <see cref="LimitMeasure.Credits"/> for a wallet alert.</summary>
    public LimitMeasure Measure { get; init; }

    /// <summary>Gets the limit's window, or <see langword="null"/> for a limit without one and for a wallet alert.</summary>
    public UsageWindow? Window { get; init; }

    /// <summary>Gets when the window started, or <see langword="null"/> for a limit without one and for a wallet alert.</summary>
    public DateTimeOffset? WindowStart { get; init; }

    /// <summary>Gets when the window ends, or <see langword="null"/> for a limit without one and for a wallet alert.</summary>
    public DateTimeOffset? WindowEnd { get; init; }

    /// <summary>Gets the threshold as configured, for example <c>80%</c> or <c>2500</c>.</summary>
    public required string Threshold { get; init; }

    /// <summary>
    /// Gets the threshold in the limit's unit; for a wallet alert, in credits of the wallet's type (a percent threshold is
    /// <see cref="Limit"/> times the percent, rounded down to the credit type's scale).
    /// </summary>
    public decimal ThresholdAmount { get; init; }

    /// <summary>
    /// Gets the limit, in the limit's unit. For a wallet alert, the credits in force: the sum of the amounts granted in the
    /// wallet's blocks that are effective, neither expired nor voided, and not used up; a percent threshold is a percent of it.
    /// </summary>
    public decimal Limit { get; init; }

    /// <summary>
    /// Gets what was used in the window when the threshold was reached (in flight, for a limit on requests in flight).
    /// For a wallet alert, <see cref="Limit"/> less <see cref="Balance"/>: what of the credits in force is used, plus any overdraft debt.
    /// </summary>
    public decimal Used { get; init; }

    /// <summary>
    /// Gets the wallet's balance when it fell to or below the threshold, for a wallet alert: the credits in force not yet used
    /// (credits held by reservations in flight included) less overdraft debt; negative in debt. <see langword="null"/> for a budget alert.
    /// </summary>
    public decimal? Balance { get; init; }

    /// <summary>Gets when the threshold was reached.</summary>
    public DateTimeOffset RaisedAt { get; init; }
}
