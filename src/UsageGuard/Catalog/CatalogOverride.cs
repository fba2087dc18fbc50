namespace UsageGuard;

/// <summary>A validated customer override: an entitlement in force over [From, Until).</summary>
internal sealed record CatalogOverride(DateTimeOffset? From, DateTimeOffset? Until, CatalogEntitlement Entitlement)
{
    internal bool InForceAt(DateTimeOffset at) => (From is not { } from || at >= from) && (Until is not { } until || at < until);
}
