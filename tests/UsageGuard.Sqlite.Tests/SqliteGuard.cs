using Microsoft.Extensions.Logging.Abstractions;
using UsageGuard.Testing;

namespace UsageGuard.Sqlite.Tests;

/// <summary>A guard over a SQLite file with a manual clock; restarts over the same file as a new process would.</summary>
internal sealed class SqliteGuard : IAsyncDisposable
{
    private SqliteGuard(EntitlementGuard guard, SqliteLedgerStore store, SqliteLedgerStoreOptions storeOptions, UsageGuardOptions options, ManualTimeProvider time)
    {
        Guard = guard;
        Store = store;
        StoreOptions = storeOptions;
        Options = options;
        Time = time;
    }

    public EntitlementGuard Guard { get; private set; }

    public IEntitlementGuard Gate => Guard;

    public ICreditLedger Ledger => Guard;

    public SqliteLedgerStore Store { get; private set; }

    public SqliteLedgerStoreOptions StoreOptions { get; }

    public UsageGuardOptions Options { get; }

    public ManualTimeProvider Time { get; }

    /// <summary>Gets the governance the guard was started with (and restarts with), or null.</summary>
    public GovernanceOptions? Governance { get; private init; }

    public IUsageGovernance Budgets => Guard;

    public static async Task<SqliteGuard> StartAsync(string path, Action<UsageGuardOptions>? configure = null, Action<SqliteLedgerStoreOptions>? configureStore = null, ManualTimeProvider? time = null, GovernanceOptions? governance = null)
    {
        var options = new UsageGuardOptions { ReservationSweepInterval = TimeSpan.Zero };
        options.CreditTypes.Add(new CreditTypeOptions { Code = "credits", Scale = 6, OverdraftLimit = 100m });
        configure?.Invoke(options);
        var storeOptions = new SqliteLedgerStoreOptions { ConnectionString = "Data Source=" + path };
        configureStore?.Invoke(storeOptions);
        time ??= new ManualTimeProvider();
        var store = new SqliteLedgerStore(storeOptions);
        try
        {
            EntitlementGuard guard = await EntitlementGuard.StartAsync(options, store, time, NullLogger.Instance, governance: governance);
            return new SqliteGuard(guard, store, storeOptions, options, time) { Governance = governance };
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>Stops the guard and the store, then opens both again over the same file.</summary>
    public async Task RestartAsync()
    {
        await Guard.DisposeAsync();
        Store.Dispose();
        Store = new SqliteLedgerStore(StoreOptions);
        Guard = await EntitlementGuard.StartAsync(Options, Store, Time, NullLogger.Instance, governance: Governance);
    }

    public Task<GrantResult> GrantAsync(string customer, decimal amount, string? key = null) =>
        Ledger.GrantAsync(new CreditGrant { CustomerId = customer, Amount = amount, IdempotencyKey = key }).AsTask();

    public async Task<SettlementResult> SpendAsync(string customer, decimal estimate, decimal actual)
    {
        ReservationResult reserved = await Gate.ReserveAsync(new ReservationRequest { CustomerId = customer, Amount = estimate });
        if (!reserved.IsAdmitted)
        {
            throw new InvalidOperationException($"Not admitted: {reserved.Status} {reserved.Reason}");
        }

        return await Gate.SettleAsync(reserved.Reservation, actual);
    }

    public decimal Balance(string customer) => Ledger.GetBalance(customer).Balance.ToDecimal();

    public async Task<List<LedgerEntry>> EntriesAsync()
    {
        var all = new List<LedgerEntry>();
        await foreach (LedgerEntry e in Store.ReadAsync(0))
        {
            all.Add(e);
        }

        return all;
    }

    public async ValueTask DisposeAsync()
    {
        await Guard.DisposeAsync();
        Store.Dispose();
    }
}
