namespace UsageGuard;

/// <summary>A customer on a plan from an instant: its add-ons, billing period, time zone, later plan changes and cancellation.</summary>
/// <remarks>
/// Subscriptions are catalog data, like plans: the system that sells them (a billing system, an admin tool) owns them and
/// the catalog source carries them here. A plan change is a new entry in <see cref="Changes"/>; the guard applies its
/// proration when it first sees it (see docs/subscriptions.md).
/// </remarks>
public sealed class SubscriptionOptions
{
    /// <summary>Gets or sets the customer's id; one subscription per customer.</summary>
    /// <value>The default value is an empty string, which fails validation.</value>
    public string Customer { get; set; } = string.Empty;

    /// <summary>Gets or sets the plan's id from <see cref="Start"/>.</summary>
    /// <value>The default value is an empty string, which fails validation.</value>
    public string Plan { get; set; } = string.Empty;

    /// <summary>Gets the ids of the add-ons; a later add-on wins over an earlier one for the same feature.</summary>
    public IList<string> AddOns { get; } = new List<string>();

    /// <summary>Gets or sets the instant the subscription starts.</summary>
    /// <value>The default value is <see cref="DateTimeOffset.MinValue"/>, which fails validation.</value>
    public DateTimeOffset Start { get; set; }

    /// <summary>Gets or sets the IANA (or Windows) id of the customer's time zone, in which periods are calendar-aligned.</summary>
    /// <value>The default value is <c>UTC</c>.</value>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>Gets or sets the billing period: allowances are granted at each period's start, and plan changes are prorated over it.</summary>
    /// <value>The default value is <see cref="UsageWindow.Month"/>; <see cref="UsageWindow.Minute"/> and <see cref="UsageWindow.Second"/> fail validation.</value>
    public UsageWindow BillingPeriod { get; set; } = UsageWindow.Month;

    /// <summary>Gets or sets the instant whose local day, time (and month, for a yearly period) periods start on.</summary>
    /// <value>The default value is <see langword="null"/>: <see cref="Start"/>.</value>
    public DateTimeOffset? BillingAnchor { get; set; }

    /// <summary>Gets the plan changes after <see cref="Start"/>, in time order.</summary>
    public IList<PlanChangeOptions> Changes { get; } = new List<PlanChangeOptions>();

    /// <summary>Gets or sets the instant the subscription ends: from then on the customer has no plan, and no allowance is granted.</summary>
    /// <value>The default value is <see langword="null"/>: not canceled.</value>
    public DateTimeOffset? CanceledAt { get; set; }
}
