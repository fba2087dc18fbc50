using System.Collections.Frozen;

namespace UsageGuard;

/// <summary>
/// One immutable, validated version of the catalog. Built whole from <see cref="CatalogOptions"/> or not at all; an operation
/// reads one snapshot from start to end, so it never sees a mix of two versions.
/// </summary>
/// <remarks>Thread-safe: immutable after construction.</remarks>
internal sealed class CatalogSnapshot
{
    internal CatalogSnapshot(
        long version,
        string contentHash,
        string? revision,
        FrozenDictionary<string, CatalogFeature> features,
        FrozenDictionary<string, CatalogOffer> offers,
        FrozenDictionary<string, CatalogOverride[]> overrides,
        UnknownPolicy unknownFeatures,
        UnknownPolicy unknownModels)
    {
        Version = version;
        ContentHash = contentHash;
        Revision = revision;
        Features = features;
        Offers = offers;
        Overrides = overrides;
        UnknownFeatures = unknownFeatures;
        UnknownModels = unknownModels;
    }

    /// <summary>Gets the snapshot's number: 1 for the first catalog a guard loads, one more for each accepted change.</summary>
    internal long Version { get; }

    /// <summary>Gets a SHA-256 of the catalog's content (hex), the same for the same catalog in any process.</summary>
    internal string ContentHash { get; }

    internal string? Revision { get; }

    internal FrozenDictionary<string, CatalogFeature> Features { get; }

    /// <summary>Gets the plans and add-ons by id (ids are unique across both).</summary>
    internal FrozenDictionary<string, CatalogOffer> Offers { get; }

    /// <summary>Gets each customer's overrides, ordered by start.</summary>
    internal FrozenDictionary<string, CatalogOverride[]> Overrides { get; }

    internal UnknownPolicy UnknownFeatures { get; }

    internal UnknownPolicy UnknownModels { get; }

    /// <summary>
    /// The entitlement that applies to a customer on a plan with add-ons, for a feature, at an instant: an override in force
    /// (the latest-starting one when several are), else the last add-on in <paramref name="addOnIds"/> that has the
    /// feature, else the plan; null when none has it.
    /// </summary>
    internal CatalogEntitlement? Resolve(string customerId, string? planId, IReadOnlyList<string> addOnIds, string featureId, DateTimeOffset at)
    {
        if (Overrides.TryGetValue(customerId, out CatalogOverride[]? overrides))
        {
            for (int i = overrides.Length - 1; i >= 0; i--)
            {
                CatalogOverride candidate = overrides[i];
                if (candidate.Entitlement.Feature.Id == featureId && candidate.InForceAt(at))
                {
                    return candidate.Entitlement;
                }
            }
        }

        for (int i = addOnIds.Count - 1; i >= 0; i--)
        {
            if (Offers.TryGetValue(addOnIds[i], out CatalogOffer? addOn) && addOn.Entitlements.TryGetValue(featureId, out CatalogEntitlement? fromAddOn))
            {
                return fromAddOn;
            }
        }

        return planId is not null && Offers.TryGetValue(planId, out CatalogOffer? plan) && plan.Entitlements.TryGetValue(featureId, out CatalogEntitlement? fromPlan)
            ? fromPlan
            : null;
    }
}
