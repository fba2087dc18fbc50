namespace UsageGuard;

/// <summary>
/// Budgets, subject trees, session circuit breakers, rate and concurrency limits, as data: bound from configuration (the
/// <c>UsageGuard:Governance</c> section, for example) or built in code, and changed at runtime through <see cref="IUsageGovernance"/>.
/// </summary>
/// <remarks>Each customer's part is validated whole; an invalid part is refused whole (at start, with <see cref="GovernanceValidationException"/>; on a reload, logged, keeping the last good one).</remarks>
public sealed class GovernanceOptions
{
    /// <summary>Gets the customers' governance.</summary>
    public IList<CustomerGovernanceOptions> Customers { get; } = new List<CustomerGovernanceOptions>();

    /// <summary>Gets or sets how long a session's counters are kept after its last request; a tripped session that stays idle this long starts afresh.</summary>
    /// <value>The default value is 1 day.</value>
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromDays(1);
}
