using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Order;
using UsageGuard.Sqlite;

namespace UsageGuard.Benchmarks;

/// <summary>
/// Durable settlements per second on SQLite (WAL, <c>synchronous=FULL</c>, a temporary file per row): the engine's
/// group commit against one transaction per settlement, and the store's own ceiling. One operation is one ledger entry
/// made durable, so <c>Op/s</c> is entries (settlements) per second. See benchmarks/README.md.
/// </summary>
[MemoryDiagnoser]
[Orderer(SummaryOrderPolicy.Declared)]
[Config(typeof(EntriesPerSecondConfig))]
public class SqliteSettlementBenchmarks
{
    /// <summary>Settlements (commits) per invocation of the one-transaction baseline.</summary>
    public const int OneTransactionSettles = 100;

    /// <summary>Concurrent callers of the 64-caller row; an invocation is <see cref="SettlesPerCaller64"/> settlements by each.</summary>
    public const int Callers64 = 64;

    /// <summary>Settlements each caller of the 64-caller row makes per invocation, one after another.</summary>
    public const int SettlesPerCaller64 = 250;

    /// <summary>Concurrent callers of the 1,024-caller rows; an invocation is <see cref="SettlesPerCaller1024"/> settlements by each.</summary>
    public const int Callers1024 = 1_024;

    /// <summary>Settlements each caller of the 1,024-caller Reserve+Settle rows makes per invocation, one after another.</summary>
    /// <remarks>
    /// 250, so an invocation (256,000 settlements) lasts about a second and measures the steady state: every invocation starts
    /// 1,024 tasks and ends by joining them, and with 50 settlements each (0.3 s) that ramp and drain cost about a third of
    /// the rate (161 k/s against 229 k/s in the same build).
    /// </remarks>
    public const int SettlesPerCaller1024 = 250;

    /// <summary>Consumes each caller of the keyed row makes per invocation: fewer, as each is several times slower.</summary>
    public const int ConsumesPerCallerKeyed = 50;

    /// <summary>Entries per <see cref="SqliteLedgerStore.AppendAsync"/> in the bare-store row.</summary>
    public const int BatchSize = 1_000;

    /// <summary>Customers of the one-transaction baseline, settled round-robin; the engine rows have one customer per caller unless they say otherwise.</summary>
    private const int BaselineCustomers = 64;
    private const long OneCredit = 1_000_000;

    /// <summary>
    /// Batches hashed in [GlobalSetup] for the bare-store row: more than a short job appends (289 in every run so far, at
    /// 35–65 ms a batch). Should they run out, the next batches are built inside the measured call (the hashing then counts) and
    /// the cleanup reports how many.
    /// </summary>
    private const int PrebuiltBatches = 800;

    private OneTransactionLedger _oneTransaction = null!;
    private DurableSqliteGuard _engine = null!;
    private SqliteLedgerStore _store = null!;
    private string _storePath = null!;
    private LedgerChain _chain = null!;
    private LedgerEntry[][] _batches = null!;
    private string[] _customers = null!;
    private int _nextBatch;
    private long _batchesBuiltInline;
    private long _settled;

    [GlobalSetup(Targets = [nameof(OneTransactionPerSettlement), nameof(ReadThenUpdatePerRequest)])]
    public void SetupOneTransaction()
    {
        _customers = Enumerable.Range(0, BaselineCustomers).Select(LedgerChain.CustomerId).ToArray();
        _oneTransaction = new OneTransactionLedger(TempLedgerFile.Create("one-transaction"), BaselineCustomers, startingBalance: long.MaxValue / 2);
    }

    [GlobalSetup(Target = nameof(GroupCommit64Callers))]
    public void SetupGroupCommit64() => _engine = DurableSqliteGuard.StartAsync("group-commit-64", Callers64).GetAwaiter().GetResult();

    [GlobalSetup(Target = nameof(GroupCommit1024Callers))]
    public void SetupGroupCommit1024() => _engine = DurableSqliteGuard.StartAsync("group-commit-1024", Callers1024).GetAwaiter().GetResult();

    [GlobalSetup(Target = nameof(GroupCommit1024CallersKeyed))]
    public void SetupGroupCommit1024Keyed() => _engine = DurableSqliteGuard.StartAsync("group-commit-1024-keyed", Callers1024).GetAwaiter().GetResult();

    [GlobalSetup(Target = nameof(GroupCommit1024CallersOneCustomer))]
    public void SetupGroupCommit1024OneCustomer() => _engine = DurableSqliteGuard.StartAsync("group-commit-1024-one-customer", customers: 1).GetAwaiter().GetResult();

    [GlobalSetup(Target = nameof(StoreAppend1000))]
    public void SetupStoreAppend()
    {
        _storePath = TempLedgerFile.Create("store-append");
        _store = new SqliteLedgerStore(new SqliteLedgerStoreOptions { ConnectionString = "Data Source=" + _storePath });
        _chain = new LedgerChain(customers: BatchSize, seed: 1);

        // The first batch is the customers' grants: appended here, so every measured batch holds settle entries only.
        _store.AppendAsync(new LedgerBatch(_chain.Next(BatchSize), [])).AsTask().GetAwaiter().GetResult();
        _batches = new LedgerEntry[PrebuiltBatches][];
        for (int i = 0; i < _batches.Length; i++)
        {
            _batches[i] = _chain.Next(BatchSize);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_oneTransaction is not null)
        {
            long rows = _oneTransaction.Rows();
            _oneTransaction.Dispose();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// cleanup: one transaction per settlement: {rows:N0} ledger rows, {_settled:N0} settlements, file {TempLedgerFile.Size(_oneTransaction.Path) / 1e6:N0} MB"));
            TempLedgerFile.Delete(_oneTransaction.Path);
        }

        if (_engine is not null)
        {
            long batches = _engine.Counting.Batches;
            long entries = _engine.Counting.Entries;
            string size = (TempLedgerFile.Size(_engine.Path) / 1e6).ToString("N0", CultureInfo.InvariantCulture);
            _engine.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// cleanup: group commit: {entries:N0} entries in {batches:N0} commits, {(double)entries / Math.Max(1, batches):N1} entries a commit on average, file {size} MB"));
        }

        if (_store is not null)
        {
            string size = (TempLedgerFile.Size(_storePath) / 1e6).ToString("N0", CultureInfo.InvariantCulture);
            _store.Dispose();
            _chain.Dispose();
            TempLedgerFile.Delete(_storePath);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// cleanup: bare store: {_nextBatch:N0} batches of {BatchSize:N0} appended, {_batchesBuiltInline:N0} of them hashed inside the measured call (pre-built: {PrebuiltBatches:N0}), file {size} MB"));
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = OneTransactionSettles, Description = "One transaction per settlement (hand-written SQLite)")]
    public void OneTransactionPerSettlement()
    {
        for (int i = 0; i < OneTransactionSettles; i++)
        {
            long n = _settled++;
            _oneTransaction.Settle(_customers[(int)(n % BaselineCustomers)], OneCredit, n);
        }
    }

    [Benchmark(OperationsPerInvoke = OneTransactionSettles, Description = "Read the balance, then UPDATE it, per request (hand-written SQLite)")]
    public void ReadThenUpdatePerRequest()
    {
        for (int i = 0; i < OneTransactionSettles; i++)
        {
            long n = _settled++;
            _oneTransaction.ReadThenUpdate(_customers[(int)(n % BaselineCustomers)], OneCredit);
        }
    }

    [Benchmark(OperationsPerInvoke = Callers64 * SettlesPerCaller64, Description = "UsageGuard durable Reserve+Settle, 64 callers, group commit")]
    public void GroupCommit64Callers() => _engine.RunClosedLoop(Callers64, SettlesPerCaller64).GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = Callers1024 * SettlesPerCaller1024, Description = "UsageGuard durable Reserve+Settle, 1,024 callers, group commit")]
    public void GroupCommit1024Callers() => _engine.RunClosedLoop(Callers1024, SettlesPerCaller1024).GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = Callers1024 * ConsumesPerCallerKeyed, Description = "UsageGuard durable keyed Consume, 1,024 callers, group commit")]
    public void GroupCommit1024CallersKeyed() => _engine.RunClosedLoopKeyed(Callers1024, ConsumesPerCallerKeyed).GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = Callers1024 * SettlesPerCaller1024, Description = "UsageGuard durable Reserve+Settle, 1,024 callers on one customer, group commit")]
    public void GroupCommit1024CallersOneCustomer() => _engine.RunClosedLoop(Callers1024, SettlesPerCaller1024).GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = BatchSize, Description = "SqliteLedgerStore.AppendAsync, 1,000-entry batches")]
    public void StoreAppend1000()
    {
        LedgerEntry[] batch = _nextBatch < _batches.Length ? _batches[_nextBatch] : BuildInline();
        _nextBatch++;
        ValueTask append = _store.AppendAsync(new LedgerBatch(batch, []));
        if (!append.IsCompletedSuccessfully)
        {
            append.AsTask().GetAwaiter().GetResult();
        }

        if (_nextBatch <= _batches.Length)
        {
            // The store copies what it keeps; dropping the batch keeps the pre-built set from pinning memory after use.
            _batches[_nextBatch - 1] = null!;
        }
    }

    private LedgerEntry[] BuildInline()
    {
        _batchesBuiltInline++;
        return _chain.Next(BatchSize);
    }

    /// <summary>Adds an operations-per-second column: here, ledger entries made durable per second.</summary>
    private sealed class EntriesPerSecondConfig : ManualConfig
    {
        public EntriesPerSecondConfig() => AddColumn(StatisticColumn.OperationsPerSecond);
    }
}
