using System.Collections.Frozen;

namespace UsageGuard;

/// <summary>A validated feature of a <see cref="CatalogSnapshot"/>.</summary>
internal sealed class CatalogFeature
{
    internal CatalogFeature(FeatureOptions options, long? pricePerUnitUnits, int scale, long offlineAllowanceUnits = 0)
    {
        OfflineAllowanceUnits = offlineAllowanceUnits;
        Id = options.Id;
        Kind = options.Kind;
        ValueType = options.ValueType;
        AllowedValues = options.AllowedValues.ToFrozenSet(StringComparer.Ordinal);
        Unit = options.Unit;
        CreditType = options.CreditType;
        PricePerUnitUnits = pricePerUnitUnits;
        Scale = scale;
        Scope = "feature:" + options.Id;
    }

    /// <summary>Gets the scope a denial names, <c>feature:</c> and the id (built once, so a denial allocates nothing).</summary>
    internal string Scope { get; }

    internal string Id { get; }

    internal FeatureKind Kind { get; }

    internal ConfigValueType ValueType { get; }

    internal FrozenSet<string> AllowedValues { get; }

    internal string? Unit { get; }

    internal string? CreditType { get; }

    /// <summary>Gets the price of one unit in units of <see cref="CreditType"/>, or null when not priced.</summary>
    internal long? PricePerUnitUnits { get; }

    /// <summary>Gets what one instance may admit beyond its leases per wallet and outage, in units of <see cref="CreditType"/> (0: none).</summary>
    internal long OfflineAllowanceUnits { get; }

    /// <summary>Gets the scale of <see cref="CreditType"/> (0 when the feature is not priced).</summary>
    internal int Scale { get; }
}
