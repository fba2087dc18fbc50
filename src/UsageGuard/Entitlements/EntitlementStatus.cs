namespace UsageGuard;

/// <summary>The outcome of an entitlement check.</summary>
public enum EntitlementStatus
{
    /// <summary>Denied: the customer's plan, add-ons and overrides do not give the feature, or give it switched off (also when the customer has no subscription in force).</summary>
    NotEntitled = 0,

    /// <summary>Granted: the feature is on and, for a metered feature, the amount asked for fits the window's limit.</summary>
    Granted = 1,

    /// <summary>Denied: the metered feature's window has no room for the amount asked for (a soft limit's overage cap included).</summary>
    LimitReached = 2,

    /// <summary>Denied: the catalog does not define the feature and <see cref="CatalogOptions.UnknownFeatures"/> is <see cref="UnknownPolicy.Deny"/>.</summary>
    UnknownFeature = 3,
}
