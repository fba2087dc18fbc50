using System.Collections.Frozen;

namespace UsageGuard;

/// <summary>A stretch of a subscription on one plan: the plan, the add-ons, and their entitlements merged (add-ons win, the last one first).</summary>
internal sealed class SubscriptionPhase
{
    internal SubscriptionPhase(DateTimeOffset start, CatalogOffer plan, CatalogOffer[] addOns)
    {
        Start = start;
        Plan = plan;
        AddOns = addOns;
        var merged = new Dictionary<string, CatalogEntitlement>(plan.Entitlements, StringComparer.Ordinal);
        foreach (CatalogOffer addOn in addOns)
        {
            foreach (KeyValuePair<string, CatalogEntitlement> pair in addOn.Entitlements)
            {
                merged[pair.Key] = pair.Value;
            }
        }

        Entitlements = merged.ToFrozenDictionary(StringComparer.Ordinal);
    }

    internal DateTimeOffset Start { get; }

    internal CatalogOffer Plan { get; }

    internal CatalogOffer[] AddOns { get; }

    internal FrozenDictionary<string, CatalogEntitlement> Entitlements { get; }

    /// <summary>Gets the allowances of the plan and the add-ons.</summary>
    internal IEnumerable<CatalogAllowance> Allowances => Plan.Allowances.Concat(AddOns.SelectMany(a => a.Allowances));
}
