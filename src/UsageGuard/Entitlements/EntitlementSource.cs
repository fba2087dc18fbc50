namespace UsageGuard;

/// <summary>Where a customer's entitlement to a feature comes from; precedence runs from <see cref="Override"/> down to <see cref="Plan"/>.</summary>
public enum EntitlementSource
{
    /// <summary>No entitlement: the feature is not in the customer's plan, add-ons or overrides.</summary>
    None,

    /// <summary>The customer's plan (or a plan it includes).</summary>
    Plan,

    /// <summary>One of the customer's add-ons.</summary>
    AddOn,

    /// <summary>A per-customer override in force at the instant asked about.</summary>
    Override,

    /// <summary>The feature is unknown to the catalog and <see cref="CatalogOptions.UnknownFeatures"/> allows it.</summary>
    UnknownAllowed,
}
