using System.Diagnostics;
using System.Globalization;
using UsageGuard.Sqlite;

namespace UsageGuard.Benchmarks;

/// <summary>
/// The SQLite ledger the start-up benchmark opens: 10,000,000 valid chained entries over 10,000 customers (one grant
/// each, then 9,990,000 one-credit settlements on customers drawn from a seeded random sequence), with snapshots every
/// 100,000 entries as the ledger writer saves them, except the one at 10,000,000: start-up replays the last 100,000
/// entries, about the most a crash can leave behind the newest snapshot (<see cref="UsageGuardOptions.SnapshotInterval"/>).
/// </summary>
/// <remarks>
/// Built once and cached under <c>$TMPDIR/usageguard-benchmarks/</c>, named by the content's parameters, the store's
/// schema version and <see cref="Version"/>, so a rerun reuses it. Bump <see cref="Version"/> when the content, the
/// entry hash or the store's format changes. Built through <see cref="SqliteLedgerStore.AppendAsync"/> in batches of
/// 100,000 (the writer's batches are smaller, but the stored rows do not depend on the batch size, and large batches
/// amortise the store's per-commit index page writes) and <see cref="SqliteLedgerStore.SaveSnapshotAsync"/> with the
/// snapshot of a <see cref="LedgerProjection"/> that applied every entry, as the writer does.
/// </remarks>
internal static class StartupLedgerFile
{
    internal const int Version = 1;
    internal const long Entries = 10_000_000;
    internal const int Customers = 10_000;
    internal const int SnapshotInterval = UsageGuardDefaults.SnapshotInterval;
    private const int BatchSize = 100_000;
    private const int Seed = 10;

    /// <summary>Gets the cached file's path.</summary>
    internal static string Path { get; } = System.IO.Path.Combine(
        TempLedgerFile.Directory,
        string.Create(CultureInfo.InvariantCulture, $"startup-{Entries}-entries-{Customers}-customers-schema{SqliteLedgerStore.SchemaVersion}-v{Version}.db"));

    /// <summary>Gets the sum of every wallet's balance after the last entry, in credits: each customer was granted 10^9 and every other entry settled one.</summary>
    internal static decimal ExpectedTotalBalance => (Customers * 1_000_000_000m) - (Entries - Customers);

    /// <summary>Returns the file's path, building the file first when it is not cached.</summary>
    internal static string Ensure()
    {
        if (File.Exists(Path) && File.Exists(Path + "-head"))
        {
            return Path;
        }

        Build();
        return Path;
    }

    /// <summary>Deletes the cached file, e.g. after it failed to load.</summary>
    internal static void Delete() => TempLedgerFile.Delete(Path);

    private static void Build()
    {
        // Built under another name and renamed when complete: an interrupted build is never mistaken for the cache.
        string building = Path + ".building";
        TempLedgerFile.Delete(building);
        Log($"building {Path}: {Entries:N0} entries, {Customers:N0} customers (once; a rerun reuses the file)");
        var total = Stopwatch.StartNew();
        using (var store = new SqliteLedgerStore(new SqliteLedgerStoreOptions { ConnectionString = "Data Source=" + building }))
        using (var chain = new LedgerChain(Customers, Seed))
        {
            var batch = new LedgerEntry[BatchSize];
            TimeSpan hashing = default;
            TimeSpan appending = default;
            while (chain.LastSequence < Entries)
            {
                int count = (int)Math.Min(BatchSize, Entries - chain.LastSequence);
                long start = Stopwatch.GetTimestamp();
                chain.Next(batch.AsSpan(0, count));
                hashing += Stopwatch.GetElapsedTime(start);
                start = Stopwatch.GetTimestamp();
                store.AppendAsync(new LedgerBatch(batch.AsMemory(0, count), [])).AsTask().GetAwaiter().GetResult();
                if (chain.LastSequence % SnapshotInterval == 0 && chain.LastSequence < Entries)
                {
                    store.SaveSnapshotAsync(chain.Snapshot()).AsTask().GetAwaiter().GetResult();
                }

                appending += Stopwatch.GetElapsedTime(start);
                if (chain.LastSequence % 1_000_000 == 0)
                {
                    Log($"  {chain.LastSequence:N0} entries after {total.Elapsed.TotalSeconds:N0} s (sealing and hashing {hashing.TotalSeconds:N0} s, appending and snapshots {appending.TotalSeconds:N0} s), file {TempLedgerFile.Size(building) / 1e9:N2} GB");
                }
            }
        }

        File.Move(building, Path, overwrite: true);
        File.Move(building + "-head", Path + "-head", overwrite: true);
        TempLedgerFile.Delete(building);
        Log($"built in {total.Elapsed.TotalSeconds:N0} s: {TempLedgerFile.Size(Path) / 1e9:N2} GB");
    }

    private static void Log(string message) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// startup ledger: {message}"));
}
