namespace UsageGuard;

/// <summary>How usage events become Stripe billing meter events (<see cref="StripeMeterEventsExporter"/>).</summary>
public sealed class StripeMeterEventsExporterOptions
{
    /// <summary>Gets or sets the meter's <c>event_name</c>.</summary>
    /// <value>The default value is an empty string, which fails validation.</value>
    public string EventName { get; set; } = string.Empty;

    /// <summary>Gets or sets the secret API key, sent as a bearer token.</summary>
    /// <value>The default value is an empty string, which fails validation.</value>
    public string ApiKey { get; set; } = string.Empty;

    /// <summary>Gets or sets the API's base address; the sink POSTs to <c>v1/billing/meter_events</c> under it.</summary>
    /// <value>The default value is <c>https://api.stripe.com/</c>.</value>
    public Uri BaseAddress { get; set; } = new("https://api.stripe.com/");

    /// <summary>
    /// Gets or sets how a usage event maps to a Stripe customer id (<c>payload[stripe_customer_id]</c>); an event it maps to
    /// <see langword="null"/> is not billed through Stripe and is skipped.
    /// </summary>
    /// <value>The default value uses <see cref="UsageEvent.CustomerId"/> as it is.</value>
    public Func<UsageEvent, string?> StripeCustomerId { get; set; } = static e => e.CustomerId;

    /// <summary>Gets or sets the value reported (<c>payload[value]</c>); an event whose value is zero is skipped.</summary>
    /// <value>The default value is the credits consumed, in the credit type's smallest units (an integer, which every Stripe meter accepts).</value>
    public Func<UsageEvent, decimal> Value { get; set; } = static e => e.Consumed.Units;
}
