using Microsoft.Extensions.Options;

namespace UsageGuard;

/// <summary>Marks that a catalog is registered, and carries the options monitor it is read from.</summary>
internal sealed class CatalogRegistration(IOptionsMonitor<CatalogOptions> monitor)
{
    internal IOptionsMonitor<CatalogOptions> Monitor { get; } = monitor;
}
