namespace UsageGuard;

/// <summary>What a plan, an add-on or a customer override gives for one feature.</summary>
public sealed class EntitlementOptions
{
    /// <summary>Gets or sets the feature's id.</summary>
    /// <value>The default value is an empty string, which fails validation.</value>
    public string Feature { get; set; } = string.Empty;

    /// <summary>Gets or sets whether the feature is on; <see langword="false"/> takes it away (an override can switch off what a plan gives).</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>Gets or sets a <see cref="FeatureKind.Config"/> feature's value, as text (numbers with an invariant-culture decimal point).</summary>
    /// <value>The default value is <see langword="null"/>; required for a config feature that is enabled.</value>
    public string? Value { get; set; }

    /// <summary>Gets or sets a <see cref="FeatureKind.Metered"/> feature's limit per <see cref="Window"/>, in the feature's units.</summary>
    /// <value>The default value is <see langword="null"/>: metered without a limit.</value>
    public decimal? Limit { get; set; }

    /// <summary>Gets or sets the window the limit counts over, calendar-aligned in the customer's time zone; any window, a minute or a second included.</summary>
    /// <value>The default value is <see cref="UsageWindow.Month"/>.</value>
    public UsageWindow Window { get; set; } = UsageWindow.Month;

    /// <summary>Gets or sets what happens to a request that would pass the limit.</summary>
    /// <value>The default value is <see cref="LimitEnforcement.Hard"/>.</value>
    public LimitEnforcement Enforcement { get; set; }

    /// <summary>Gets or sets the most overage a soft limit admits per window, in the feature's units.</summary>
    /// <value>The default value is <see langword="null"/>: no cap.</value>
    public decimal? OverageCap { get; set; }

    /// <summary>Gets or sets the credits each unit above a soft limit costs (for example 0.0002 per additional token).</summary>
    /// <value>The default value is <see langword="null"/>: overage is recorded, not priced.</value>
    public decimal? OverageRatePerUnit { get; set; }
}
