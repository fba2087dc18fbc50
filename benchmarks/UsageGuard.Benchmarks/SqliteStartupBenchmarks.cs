using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using UsageGuard.Sqlite;

namespace UsageGuard.Benchmarks;

/// <summary>
/// Start-up over a SQLite ledger of 10,000,000 entries (<see cref="StartupLedgerFile"/>): open the store, load the
/// newest snapshot, replay and verify the 100,000 entries after it, restore 10,000 wallets, start the writer, then stop
/// the guard and close the store. One invocation per iteration; the file is in the OS page cache after the first.
/// </summary>
/// <remarks>
/// Iterations are set with job-mutating attributes rather than a job of its own, so a <c>--job</c> given on the command
/// line (e.g. <c>--job short</c> for the other classes) is adjusted instead of running this class a second time.
/// </remarks>
[MemoryDiagnoser]
[WarmupCount(1)]
[IterationCount(3)]
[InvocationCount(1)]
public class SqliteStartupBenchmarks
{
    private SqliteLedgerStoreOptions _storeOptions = null!;

    [GlobalSetup]
    public void Setup()
    {
        string path = StartupLedgerFile.Ensure();
        _storeOptions = new SqliteLedgerStoreOptions { ConnectionString = "Data Source=" + path };
        try
        {
            Verify();
        }
        catch (UsageGuardException ex)
        {
            // A file cached by an older build that this one cannot load (the format changed without a version bump).
            Console.WriteLine($"// startup ledger: the cached file does not load ({ex.Message}); building it again");
            StartupLedgerFile.Delete();
            StartupLedgerFile.Ensure();
            Verify();
        }
    }

    [Benchmark(Description = "Open SqliteLedgerStore + EntitlementGuard.StartAsync + dispose, 10M entries")]
    public void OpenStartDispose()
    {
        using var store = new SqliteLedgerStore(_storeOptions);
        EntitlementGuard guard = EntitlementGuard.StartAsync(new UsageGuardOptions(), store, TimeProvider.System, NullLogger.Instance).AsTask().GetAwaiter().GetResult();
        guard.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Starts once, untimed: checks the balances add up and prints where the time goes.</summary>
    private void Verify()
    {
        long start = Stopwatch.GetTimestamp();
        using var store = new SqliteLedgerStore(_storeOptions);
        TimeSpan open = Stopwatch.GetElapsedTime(start);
        start = Stopwatch.GetTimestamp();
        LedgerSnapshot snapshot = store.LoadLatestSnapshotAsync().AsTask().GetAwaiter().GetResult()
            ?? throw new InvalidOperationException("The start-up ledger has no snapshot.");
        TimeSpan load = Stopwatch.GetElapsedTime(start);
        start = Stopwatch.GetTimestamp();
        long tail = 0;
        IAsyncEnumerator<LedgerEntry> reader = store.ReadAsync(snapshot.Sequence).GetAsyncEnumerator();
        try
        {
            while (reader.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                tail++;
            }
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        TimeSpan read = Stopwatch.GetElapsedTime(start);
        start = Stopwatch.GetTimestamp();
        EntitlementGuard guard = EntitlementGuard.StartAsync(new UsageGuardOptions(), store, TimeProvider.System, NullLogger.Instance).AsTask().GetAwaiter().GetResult();
        TimeSpan started = Stopwatch.GetElapsedTime(start);
        decimal total = 0;
        for (int i = 0; i < StartupLedgerFile.Customers; i++)
        {
            total += guard.GetBalance(LedgerChain.CustomerId(i)).Balance.ToDecimal();
        }

        guard.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (snapshot.Sequence + tail != StartupLedgerFile.Entries || total != StartupLedgerFile.ExpectedTotalBalance)
        {
            throw new LedgerCorruptedException($"The start-up ledger holds {snapshot.Sequence + tail:N0} entries and balances totalling {total:N0}; expected {StartupLedgerFile.Entries:N0} and {StartupLedgerFile.ExpectedTotalBalance:N0}.");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// startup ledger: {TempLedgerFile.Size(StartupLedgerFile.Path) / 1e9:N2} GB, newest snapshot at {snapshot.Sequence:N0} ({snapshot.Wallets.Count:N0} wallets), {tail:N0} entries after it; balances total {total:N0} credits as expected"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// startup ledger, first (untimed) start: open store {open.TotalMilliseconds:N0} ms; load snapshot alone {load.TotalMilliseconds:N0} ms; read the {tail:N0} entries alone {read.TotalMilliseconds:N0} ms; EntitlementGuard.StartAsync {started.TotalMilliseconds:N0} ms"));
    }
}
