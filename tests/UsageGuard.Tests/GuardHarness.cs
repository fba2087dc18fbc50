using Microsoft.Extensions.Logging.Abstractions;
using UsageGuard.Testing;

namespace UsageGuard.Tests;

/// <summary>Builds a guard over an in-memory store with a manual clock; restarts it over the same store.</summary>
internal sealed class GuardHarness : IAsyncDisposable
{
    private GuardHarness(EntitlementGuard guard, InMemoryLedgerStore store, ManualTimeProvider time, UsageGuardOptions options)
    {
        Guard = guard;
        Store = store;
        Time = time;
        Options = options;
    }

    public EntitlementGuard Guard { get; private set; }

    public IEntitlementGuard Gate => Guard;

    public ICreditLedger Ledger => Guard;

    public IUsageGovernance Governance => Guard;

    /// <summary>Gets the governance the guard was started with, or null.</summary>
    public GovernanceOptions? GovernanceOptions { get; private set; }

    public InMemoryLedgerStore Store { get; }

    public ManualTimeProvider Time { get; }

    public UsageGuardOptions Options { get; }

    /// <summary>Gets the catalog's monitor when the guard was started with a catalog; <see cref="ManualOptionsMonitor.Change"/> reloads it.</summary>
    public ManualOptionsMonitor? Catalog { get; private set; }

    /// <summary>Gets the auto-recharge the guard was started with, or null; a restart keeps it.</summary>
    public RechargeOptions? RechargeOptions { get; private set; }

    /// <summary>Gets the recharge handler the guard was started with, or null.</summary>
    public IRechargeHandler? RechargeHandler { get; private set; }

    /// <summary>Gets the wallet alerts the guard was started with, or null; a restart keeps them.</summary>
    public WalletAlertOptions? WalletAlertOptions { get; private set; }

    /// <summary>Gets the alert handlers the guard was started with; a restart keeps them.</summary>
    public IReadOnlyList<IUsageAlertHandler>? AlertHandlers { get; private set; }

    public static async Task<GuardHarness> StartAsync(Action<UsageGuardOptions>? configure = null, ManualTimeProvider? time = null, InMemoryLedgerStore? store = null, CatalogOptions? catalog = null, GovernanceOptions? governance = null, RechargeOptions? recharge = null, IRechargeHandler? rechargeHandler = null, WalletAlertOptions? walletAlerts = null, IReadOnlyList<IUsageAlertHandler>? alertHandlers = null)
    {
        var options = new UsageGuardOptions
        {
            SettlementDurability = Durability.Durable,
            ReservationSweepInterval = TimeSpan.Zero,
        };
        options.CreditTypes.Add(new CreditTypeOptions { Code = "credits", Scale = 6, OverdraftLimit = 100m });
        options.CreditTypes.Add(new CreditTypeOptions { Code = "usd", Scale = 2 });
        configure?.Invoke(options);
        time ??= new ManualTimeProvider();
        store ??= new InMemoryLedgerStore();
        ManualOptionsMonitor? monitor = catalog is null ? null : new ManualOptionsMonitor(catalog);
        CatalogProvider? provider = monitor is null ? null : new CatalogProvider(monitor, EntitlementGuard.CreditTypeScales(options), NullLogger.Instance);
        var guard = await EntitlementGuard.StartAsync(options, store, time, NullLogger.Instance, provider, governance, alertHandlers, recharge, rechargeHandler, walletAlerts);
        return new GuardHarness(guard, store, time, options) { Catalog = monitor, GovernanceOptions = governance, RechargeOptions = recharge, RechargeHandler = rechargeHandler, WalletAlertOptions = walletAlerts, AlertHandlers = alertHandlers };
    }

    /// <summary>Stops the guard (flushing the writer) and starts a new one over the same store, as a process restart would.</summary>
    public async Task RestartAsync()
    {
        await Guard.DisposeAsync();
        CatalogProvider? provider = Catalog is null ? null : new CatalogProvider(Catalog, EntitlementGuard.CreditTypeScales(Options), NullLogger.Instance);
        Guard = await EntitlementGuard.StartAsync(Options, Store, Time, NullLogger.Instance, provider, GovernanceOptions, AlertHandlers, RechargeOptions, RechargeHandler, WalletAlertOptions);
    }

    public Task<GrantResult> GrantAsync(string customer, decimal amount, int priority = 0, CreditCategory category = CreditCategory.Paid, DateTimeOffset? expiresAt = null, DateTimeOffset? effectiveAt = null, string? creditType = null, string? featureScope = null) =>
        Ledger.GrantAsync(new CreditGrant
        {
            CustomerId = customer,
            Amount = amount,
            Priority = priority,
            Category = category,
            ExpiresAt = expiresAt,
            EffectiveAt = effectiveAt,
            CreditType = creditType,
            FeatureScope = featureScope,
        }).AsTask();

    public Task<ReservationResult> ReserveAsync(string customer, decimal amount, string? key = null, SettlementPolicy? policy = null, TimeSpan? ttl = null, string? feature = null) =>
        Gate.ReserveAsync(new ReservationRequest { CustomerId = customer, Amount = amount, IdempotencyKey = key, OverrunPolicy = policy, Ttl = ttl, Feature = feature }).AsTask();

    public decimal Balance(string customer, string? creditType = null) => Ledger.GetBalance(customer, creditType).Balance.ToDecimal();

    public decimal Available(string customer, string? creditType = null) => Ledger.GetBalance(customer, creditType).Available.ToDecimal();

    public async Task<IReadOnlyList<LedgerEntry>> EntriesAsync()
    {
        await Ledger.FlushAsync();
        var all = new List<LedgerEntry>();
        await foreach (LedgerEntry e in Store.ReadAsync(0))
        {
            all.Add(e);
        }

        return all;
    }

    public async ValueTask DisposeAsync() => await Guard.DisposeAsync();
}
