using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace UsageGuard;

/// <summary>Owns the engine's lifetime inside a service provider.</summary>
internal sealed class UsageGuardHost : IAsyncDisposable, IDisposable
{
    private readonly Lazy<EntitlementGuard> _guard;
    private IDisposable? _governanceReload;

    public UsageGuardHost(
        IOptions<UsageGuardOptions> options,
        ILedgerStore store,
        TimeProvider time,
        IOptionsMonitor<GovernanceOptions> governance,
        IEnumerable<IUsageAlertHandler> alertHandlers,
        IOptions<RechargeOptions> recharge,
        IOptions<WalletAlertOptions> walletAlerts,
        ILoggerFactory? loggerFactory = null,
        CatalogRegistration? catalog = null,
        IRechargeHandler? rechargeHandler = null)
    {
        ILogger logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("UsageGuard");
        _guard = new Lazy<EntitlementGuard>(
            () =>
            {
                CatalogProvider? provider = catalog is null ? null : new CatalogProvider(catalog.Monitor, EntitlementGuard.CreditTypeScales(options.Value), logger);
                EntitlementGuard guard = EntitlementGuard.StartAsync(options.Value, store, time, logger, provider, governance.CurrentValue, [.. alertHandlers], recharge.Value, rechargeHandler, walletAlerts.Value).AsTask().GetAwaiter().GetResult();

                // A reload is applied customer by customer; an invalid customer keeps its policy in force and the problem is logged.
                _governanceReload = governance.OnChange(changed => guard.ApplyConfiguration(changed, throwOnError: false));
                return guard;
            },
            LazyThreadSafetyMode.ExecutionAndPublication);
    }

    internal EntitlementGuard Guard => _guard.Value;

    /// <summary>Disposes synchronously for containers disposed with <c>using</c>; blocks until the writer has committed.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        _governanceReload?.Dispose();
        if (_guard.IsValueCreated)
        {
            await _guard.Value.DisposeAsync().ConfigureAwait(false);
        }
    }
}
