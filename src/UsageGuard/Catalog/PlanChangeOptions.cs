namespace UsageGuard;

/// <summary>A move of a subscription to another plan (an upgrade or a downgrade) at an instant, prorated over the billing period.</summary>
public sealed class PlanChangeOptions
{
    /// <summary>Gets or sets the instant the new plan takes over.</summary>
    /// <value>The default value is <see cref="DateTimeOffset.MinValue"/>, which fails validation.</value>
    public DateTimeOffset At { get; set; }

    /// <summary>Gets or sets the new plan's id.</summary>
    /// <value>The default value is an empty string, which fails validation.</value>
    public string Plan { get; set; } = string.Empty;
}
