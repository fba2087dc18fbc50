using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace UsageGuard;

/// <summary>Owns the engine's lifetime inside a service provider.</summary>
internal sealed class UsageGuardHost : IAsyncDisposable, IDisposable
{
    private readonly Lazy<EntitlementGuard> _guard;

    public UsageGuardHost(IOptions<UsageGuardOptions> options, ILedgerStore store, TimeProvider time, ILoggerFactory? loggerFactory = null, CatalogRegistration? catalog = null)
    {
        ILogger logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("UsageGuard");
        _guard = new Lazy<EntitlementGuard>(
            () =>
            {
                CatalogProvider? provider = catalog is null ? null : new CatalogProvider(catalog.Monitor, EntitlementGuard.CreditTypeScales(options.Value), logger);
                return EntitlementGuard.StartAsync(options.Value, store, time, logger, provider).AsTask().GetAwaiter().GetResult();
            },
            LazyThreadSafetyMode.ExecutionAndPublication);
    }

    internal EntitlementGuard Guard => _guard.Value;

    /// <summary>Disposes synchronously for containers disposed with <c>using</c>; blocks until the writer has committed.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        if (_guard.IsValueCreated)
        {
            await _guard.Value.DisposeAsync().ConfigureAwait(false);
        }
    }
}
