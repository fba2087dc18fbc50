namespace UsageGuard;

/// <summary>What the cache file of a remote catalog source holds: the last good document, its ETag and when it was saved.</summary>
/// <param name="Catalog">The catalog document.</param>
/// <param name="ETag">The endpoint's ETag for it, sent as <c>If-None-Match</c> after a restart; <see langword="null"/> when the endpoint gave none.</param>
/// <param name="SavedAt">When the source accepted and saved it.</param>
internal sealed record CatalogCacheEntry(CatalogOptions Catalog, string? ETag, DateTimeOffset SavedAt);
