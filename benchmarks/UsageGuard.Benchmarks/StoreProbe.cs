using System.Diagnostics;
using System.Globalization;
using UsageGuard.Sqlite;

namespace UsageGuard.Benchmarks;

/// <summary>
/// Not a benchmark: <c>dotnet run -c Release --project benchmarks/UsageGuard.Benchmarks -- --store-probe</c> (about 1 minute).
/// Appends the same number of pre-built, chained 1,000-entry batches to a new <see cref="SqliteLedgerStore"/> for ledgers
/// of 1, 64, 1,000 and 10,000 customers, and prints per entry: the time, what the process allocated, and the bytes it
/// wrote to files (<c>wchar</c> in <c>/proc/self/io</c>: the WAL and checkpoints). It shows how the store's cost
/// depends on how many customers a batch touches: each distinct customer in a commit dirties its own leaf page in each
/// <c>(customer_id, …)</c> index, and SQLite writes every dirtied page whole to the WAL at each commit.
/// </summary>
internal static class StoreProbe
{
    private const int BatchSize = 1_000;
    private const int WarmupBatches = 20;
    private const int MeasuredBatches = 200;

    internal static void Run()
    {
        Console.WriteLine($"SqliteLedgerStore.AppendAsync, {MeasuredBatches} batches of {BatchSize:N0} settle entries after {WarmupBatches} warm-up batches; {Environment.ProcessorCount} cores");
        Console.WriteLine("customers | us/entry | entries/s | first 20 batches ms/batch | last 20 batches ms/batch | allocated B/entry | written B/entry");
        foreach (int customers in (int[])[1, 64, 1_000, 10_000])
        {
            Measure(customers);
        }
    }

    private static void Measure(int customers)
    {
        string path = TempLedgerFile.Create("store-probe");
        try
        {
            using var store = new SqliteLedgerStore(new SqliteLedgerStoreOptions { ConnectionString = "Data Source=" + path });
            using var chain = new LedgerChain(customers, seed: 1);
            Append(store, chain.Next(customers));
            for (int i = 0; i < WarmupBatches; i++)
            {
                Append(store, chain.Next(BatchSize));
            }

            var batches = new LedgerEntry[MeasuredBatches][];
            for (int i = 0; i < batches.Length; i++)
            {
                batches[i] = chain.Next(BatchSize);
            }

            var times = new double[MeasuredBatches];
            long allocated = GC.GetTotalAllocatedBytes(precise: true);
            long written = WrittenBytes();
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < batches.Length; i++)
            {
                long batchStart = Stopwatch.GetTimestamp();
                Append(store, batches[i]);
                times[i] = Stopwatch.GetElapsedTime(batchStart).TotalMilliseconds;
            }

            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
            written = WrittenBytes() - written;
            const double entries = (double)MeasuredBatches * BatchSize;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{customers,9:N0} | {seconds * 1e6 / entries,8:N1} | {entries / seconds,9:N0} | {times[..20].Average(),25:N1} | {times[^20..].Average(),24:N1} | {allocated / entries,17:N0} | {(written < 0 ? "n/a" : (written / entries).ToString("N0", CultureInfo.InvariantCulture)),15}"));
        }
        finally
        {
            TempLedgerFile.Delete(path);
        }
    }

    private static void Append(SqliteLedgerStore store, LedgerEntry[] batch)
    {
        ValueTask append = store.AppendAsync(new LedgerBatch(batch, []));
        if (!append.IsCompletedSuccessfully)
        {
            append.AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Bytes this process has passed to write calls, or -1 where <c>/proc/self/io</c> does not exist.</summary>
    private static long WrittenBytes()
    {
        if (!File.Exists("/proc/self/io"))
        {
            return -1;
        }

        foreach (string line in File.ReadLines("/proc/self/io"))
        {
            if (line.StartsWith("wchar:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim(), CultureInfo.InvariantCulture);
            }
        }

        return -1;
    }
}
