namespace UsageGuard;

/// <summary>One limit of a budget: an amount of one measure per window, and what happens at it.</summary>
/// <remarks>A budget with several limits (10 per day and 100 per month) admits a request only when every limit has room.</remarks>
public sealed class BudgetLimitOptions
{
    /// <summary>Gets or sets what the limit counts.</summary>
    /// <value>The default value is <see cref="LimitMeasure.Credits"/>.</value>
    public LimitMeasure Measure { get; set; }

    /// <summary>Gets or sets the limit: credits in the budget's credit type (at most its scale in decimal places), or a whole number of requests, tokens or leases. Positive.</summary>
    /// <value>The default value is 0, which is invalid: every limit states its amount.</value>
    public decimal Amount { get; set; }

    /// <summary>
    /// Gets or sets the window the amount is per: <c>second</c>, <c>minute</c>, <c>hour</c>, <c>day</c>, <c>week</c>, <c>month</c> or
    /// <c>year</c> (any case), calendar-aligned in the customer's time zone; <see langword="null"/> for no window: the lifetime of a
    /// session on a per-session budget, otherwise a total that never resets. <see cref="LimitMeasure.InFlight"/> has no window.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Window { get; set; }

    /// <summary>Gets or sets what happens to a request that does not fit.</summary>
    /// <value>The default value is <see cref="LimitEnforcement.Hard"/>.</value>
    public LimitEnforcement Enforcement { get; set; }

    /// <summary>Gets or sets how far above <see cref="Amount"/> a <see cref="LimitEnforcement.Soft"/> or <see cref="LimitEnforcement.Throttled"/> limit admits, in the same unit; <see langword="null"/> for no bound.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public decimal? OverageCap { get; set; }

    /// <summary>Gets or sets where a <see cref="LimitEnforcement.Throttled"/> limit starts throttling, in percent of <see cref="Amount"/> (greater than 0, at most 100).</summary>
    /// <value>The default value is 100: throttling starts at the amount.</value>
    public decimal ThrottleAtPercent { get; set; } = 100;

    /// <summary>Gets or sets the reduced rate of a <see cref="LimitEnforcement.Throttled"/> limit past its threshold: at most one request per interval.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan ThrottleInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets the alert thresholds: a percent of <see cref="Amount"/> (<c>80%</c>, above 100% for a soft limit's overage) or an
    /// absolute amount in the limit's unit (<c>2500</c>). Each is raised once per window, when the usage first reaches it.
    /// </summary>
    public IList<string> AlertAt { get; } = new List<string>();
}
