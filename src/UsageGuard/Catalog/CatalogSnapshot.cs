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
        FrozenDictionary<string, CatalogSubscription> subscriptions,
        RateCard rates,
        FrozenDictionary<string, RateCard> contractRates,
        UnknownPolicy unknownFeatures,
        UnknownPolicy unknownModels)
    {
        Version = version;
        ContentHash = contentHash;
        Revision = revision;
        Features = features;
        Offers = offers;
        Overrides = overrides;
        Subscriptions = subscriptions;
        Rates = rates;
        ContractRates = contractRates;
        Id = contentHash[..16];
        UnknownFeatures = unknownFeatures;
        UnknownModels = unknownModels;
    }

    /// <summary>Gets the snapshot's number: 1 for the first catalog a guard loads, one more for each accepted change.</summary>
    internal long Version { get; }

    /// <summary>Gets a SHA-256 of the catalog's content (hex), the same for the same catalog in any process.</summary>
    internal string ContentHash { get; }

    /// <summary>Gets the catalog version recorded on settlements: the first 16 hex digits of <see cref="ContentHash"/>, the same in every process.</summary>
    internal string Id { get; }

    internal string? Revision { get; }

    internal FrozenDictionary<string, CatalogSubscription> Subscriptions { get; }

    /// <summary>Gets the catalog's model rates.</summary>
    internal RateCard Rates { get; }

    /// <summary>Gets each customer's contract rates, already layered over <see cref="Rates"/>.</summary>
    internal FrozenDictionary<string, RateCard> ContractRates { get; }

    internal FrozenDictionary<string, CatalogFeature> Features { get; }

    /// <summary>Gets the plans and add-ons by id (ids are unique across both).</summary>
    internal FrozenDictionary<string, CatalogOffer> Offers { get; }

    /// <summary>Gets each customer's overrides, ordered by start.</summary>
    internal FrozenDictionary<string, CatalogOverride[]> Overrides { get; }

    internal UnknownPolicy UnknownFeatures { get; }

    internal UnknownPolicy UnknownModels { get; }

    /// <summary>Gets the rate card that prices a customer's requests: its contract over the catalog's rates.</summary>
    internal RateCard RatesFor(string customerId) =>
        ContractRates.Count > 0 && ContractRates.TryGetValue(customerId, out RateCard? contract) ? contract : Rates;

    /// <summary>
    /// The entitlement in force for a customer and a feature at an instant: an override in force, else the subscription's
    /// phase at that instant (add-ons over the plan); null when none gives it.
    /// </summary>
    internal CatalogEntitlement? ResolveAt(string customerId, string featureId, long utcTicks, out CatalogSubscription? subscription)
    {
        Subscriptions.TryGetValue(customerId, out subscription);
        if (OverrideAt(customerId, featureId, new DateTimeOffset(utcTicks, TimeSpan.Zero)) is { } overridden)
        {
            return overridden;
        }

        return subscription?.PhaseAt(utcTicks) is { } phase && phase.Entitlements.TryGetValue(featureId, out CatalogEntitlement? entitlement)
            ? entitlement
            : null;
    }

    /// <summary>
    /// The entitlement that applies to a customer on a plan with add-ons, for a feature, at an instant: an override in force
    /// (the latest-starting one when several are), else the last add-on in <paramref name="addOnIds"/> that has the
    /// feature, else the plan; null when none has it.
    /// </summary>
    internal CatalogEntitlement? Resolve(string customerId, string? planId, IReadOnlyList<string> addOnIds, string featureId, DateTimeOffset at)
    {
        if (OverrideAt(customerId, featureId, at) is { } overridden)
        {
            return overridden;
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

    /// <summary>The override in force for a customer and a feature at an instant (the latest-starting one when several are), or null.</summary>
    private CatalogEntitlement? OverrideAt(string customerId, string featureId, DateTimeOffset at)
    {
        if (Overrides.Count > 0 && Overrides.TryGetValue(customerId, out CatalogOverride[]? overrides))
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

        return null;
    }
}
