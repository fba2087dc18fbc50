namespace UsageGuard;

/// <summary>
/// The catalog as data: features, plans, add-ons, customer overrides and policies. Bound from configuration (for example
/// the <c>UsageGuard:Catalog</c> section of appsettings.json) or built in code; each change is validated whole and swapped
/// in as one immutable snapshot.
/// </summary>
/// <remarks>
/// Credit types are not part of the catalog: they are declared in <see cref="UsageGuardOptions.CreditTypes"/>, because a
/// credit type's scale gives meaning to every stored amount and must not change with a reload. The catalog refers to them
/// by code, and validation checks that they exist.
/// </remarks>
public sealed class CatalogOptions
{
    /// <summary>Gets or sets a label of this catalog's revision for people (for example <c>2026-11-pricing</c>); every snapshot also gets a number and a content hash.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Revision { get; set; }

    /// <summary>Gets the features.</summary>
    public IList<FeatureOptions> Features { get; } = new List<FeatureOptions>();

    /// <summary>Gets the plans.</summary>
    public IList<PlanOptions> Plans { get; } = new List<PlanOptions>();

    /// <summary>Gets the add-ons.</summary>
    public IList<AddOnOptions> AddOns { get; } = new List<AddOnOptions>();

    /// <summary>Gets the per-customer overrides.</summary>
    public IList<CustomerOverrideOptions> Overrides { get; } = new List<CustomerOverrideOptions>();

    /// <summary>Gets the model rates that price requests made with a model and token counts.</summary>
    public IList<ModelRate> Models { get; } = new List<ModelRate>();

    /// <summary>Gets the customers' contract rates, which win over <see cref="Models"/>.</summary>
    public IList<CustomerRatesOptions> ContractRates { get; } = new List<CustomerRatesOptions>();

    /// <summary>Gets the subscriptions: which customer is on which plan, from when.</summary>
    public IList<SubscriptionOptions> Subscriptions { get; } = new List<SubscriptionOptions>();

    /// <summary>Gets or sets what a check does with a feature the catalog does not define.</summary>
    /// <value>The default value is <see cref="UnknownPolicy.Deny"/>.</value>
    public UnknownPolicy UnknownFeatures { get; set; }

    /// <summary>Gets or sets what a reservation does with a model the rate card has no rate for.</summary>
    /// <value>The default value is <see cref="UnknownPolicy.Deny"/>.</value>
    public UnknownPolicy UnknownModels { get; set; }
}
