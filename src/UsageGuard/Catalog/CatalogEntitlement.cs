namespace UsageGuard;

/// <summary>A validated entitlement of a <see cref="CatalogSnapshot"/>: what one plan, add-on or override gives for one feature.</summary>
internal sealed class CatalogEntitlement
{
    internal CatalogEntitlement(CatalogFeature feature, EntitlementOptions options, EntitlementSource source, string sourceId)
    {
        Feature = feature;
        Enabled = options.Enabled;
        Value = options.Value;
        Limit = options.Limit;
        Window = options.Window;
        Enforcement = options.Enforcement;
        OverageCap = options.OverageCap;
        OverageRatePerUnit = options.OverageRatePerUnit;
        LimitUnits = options.Limit is decimal limit ? (long)limit : null;
        OverageCapUnits = options.OverageCap is decimal cap ? (long)cap : null;
        Source = source;
        SourceId = sourceId;
    }

    internal CatalogFeature Feature { get; }

    internal bool Enabled { get; }

    internal string? Value { get; }

    internal decimal? Limit { get; }

    /// <summary>Gets <see cref="Limit"/> as a whole number of units (validation refuses fractions).</summary>
    internal long? LimitUnits { get; }

    /// <summary>Gets <see cref="OverageCap"/> as a whole number of units.</summary>
    internal long? OverageCapUnits { get; }

    internal UsageWindow Window { get; }

    internal LimitEnforcement Enforcement { get; }

    internal decimal? OverageCap { get; }

    internal decimal? OverageRatePerUnit { get; }

    internal EntitlementSource Source { get; }

    /// <summary>Gets the id of the plan or add-on it comes from, or the customer's id for an override.</summary>
    internal string SourceId { get; }
}
