using System.Collections.Frozen;

namespace UsageGuard;

/// <summary>A validated plan or add-on: its entitlements by feature (a plan's includes already folded in) and its allowances.</summary>
internal sealed class CatalogOffer
{
    internal CatalogOffer(string id, string? name, bool isAddOn, FrozenDictionary<string, CatalogEntitlement> entitlements, IReadOnlyList<CatalogAllowance> allowances)
    {
        Id = id;
        Name = name;
        IsAddOn = isAddOn;
        Entitlements = entitlements;
        Allowances = allowances;
    }

    internal string Id { get; }

    internal string? Name { get; }

    internal bool IsAddOn { get; }

    internal FrozenDictionary<string, CatalogEntitlement> Entitlements { get; }

    internal IReadOnlyList<CatalogAllowance> Allowances { get; }
}
