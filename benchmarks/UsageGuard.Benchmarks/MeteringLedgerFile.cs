using System.Diagnostics;
using System.Globalization;
using UsageGuard.Sqlite;

namespace UsageGuard.Benchmarks;

/// <summary>
/// SQLite ledgers of settlements for the metering benchmarks: every entry is a settlement (one <c>Settle</c> entry carrying its
/// <see cref="SettlementRecord"/>) over 90 days, 100 customers, 20 subjects each (<c>org/team-t/user-u</c>, 4 teams of 5), 3 models
/// and 2 features, with tokens, a price and a vendor cost, drawn from a seeded random sequence.
/// </summary>
/// <remarks>
/// Built once and cached under <c>$TMPDIR/usageguard-benchmarks/</c>, named by size, schema version and <see cref="Version"/>; the
/// spend rollup is built right after (its time is printed: the one-off cost of the first query over a ledger that never had one).
/// </remarks>
internal static class MeteringLedgerFile
{
    /// <summary>The layout of the cached file; version 2 holds settlement records in their binary form.</summary>
    internal const int Version = 2;
    internal const int Customers = 100;
    internal const int Days = 90;
    private const int BatchSize = 100_000;
    private const int Seed = 42;
    private static readonly string[] Models = ["gpt-x", "gpt-x-mini", "claude-y"];
    private static readonly string[] Features = ["chat", "search"];

    /// <summary>The first day of the ledger (UTC).</summary>
    internal static readonly DateTimeOffset Start = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    internal static string PathFor(long events) => System.IO.Path.Combine(
        TempLedgerFile.Directory,
        string.Create(CultureInfo.InvariantCulture, $"metering-{events}-events-schema{SqliteLedgerStore.SchemaVersion}-v{Version}.db"));

    /// <summary>Returns the file's path, building the file (and its spend rollup) first when it is not cached.</summary>
    internal static string Ensure(long events)
    {
        string path = PathFor(events);
        if (File.Exists(path) && File.Exists(path + "-head") && File.Exists(path + "-spend"))
        {
            return path;
        }

        Build(path, events);
        return path;
    }

    private static void Build(string path, long events)
    {
        string building = path + ".building";
        TempLedgerFile.Delete(building);
        File.Delete(building + "-spend");
        Log($"building {path}: {events:N0} settlements (once; a rerun reuses the file)");
        var total = Stopwatch.StartNew();
        var random = new Random(Seed);
        var blocks = new Guid[Customers];
        for (int c = 0; c < Customers; c++)
        {
            blocks[c] = new Guid(c + 1, 0, 0, new byte[8]);
        }

        using (var store = new SqliteLedgerStore(new SqliteLedgerStoreOptions { ConnectionString = "Data Source=" + building }))
        using (var hasher = new LedgerEntryHasher())
        {
            var batch = new LedgerEntry[BatchSize];
            LedgerHash previous = LedgerHash.Genesis;
            long ticksPerEvent = TimeSpan.FromDays(Days).Ticks / events;
            for (long sequence = 1; sequence <= events;)
            {
                int count = (int)Math.Min(BatchSize, events - sequence + 1);
                for (int i = 0; i < count; i++, sequence++)
                {
                    int customer = random.Next(Customers);
                    int team = random.Next(4);
                    string subject = string.Create(CultureInfo.InvariantCulture, $"user-{team}-{random.Next(5)}");
                    var tokens = new TokenUsage(random.Next(100, 4_000), random.Next(0, 500), random.Next(50, 1_500), 0);
                    long charged = random.Next(1_000, 200_000);
                    DateTimeOffset at = Start.AddTicks(sequence * ticksPerEvent);
                    var entry = new LedgerEntry
                    {
                        Sequence = sequence,
                        Timestamp = at,
                        Kind = LedgerEntryKind.Settle,
                        CustomerId = string.Create(CultureInfo.InvariantCulture, $"customer-{customer:D3}"),
                        CreditType = "credits",
                        BlockId = blocks[customer],
                        Amount = CreditAmount.FromUnits(-charged, 6),
                        BalanceBefore = CreditAmount.FromUnits(0, 6),
                        BalanceAfter = CreditAmount.FromUnits(0, 6),
                        Subject = subject,
                        Model = Models[random.Next(Models.Length)],
                        Feature = Features[random.Next(Features.Length)],
                        RequestId = string.Create(CultureInfo.InvariantCulture, $"req-{sequence}"),
                        ReservationId = sequence,
                        CatalogVersion = "0123456789abcdef",
                        Settlement = new SettlementRecord
                        {
                            AdmittedAt = at.AddMilliseconds(-800),
                            Charged = CreditAmount.FromUnits(charged, 6),
                            Overdrawn = CreditAmount.FromUnits(0, 6),
                            Overage = CreditAmount.FromUnits(0, 6),
                            Waived = CreditAmount.FromUnits(0, 6),
                            Tokens = tokens,
                            SubjectPath = string.Create(CultureInfo.InvariantCulture, $"org/team-{team}/{subject}"),
                            Price = charged * 0.0000012m,
                            VendorCost = (tokens.InputTokens + tokens.CachedInputTokens + (2 * tokens.OutputTokens)) * 0.0000001m,
                            CostCurrency = "USD",
                        },
                        PreviousHash = previous,
                    };
                    batch[i] = entry with { Hash = hasher.Compute(entry, previous) };
                    previous = batch[i].Hash;
                }

                store.AppendAsync(new LedgerBatch(batch.AsMemory(0, count), [])).AsTask().GetAwaiter().GetResult();
                if ((sequence - 1) % 1_000_000 == 0)
                {
                    Log($"  {sequence - 1:N0} settlements after {total.Elapsed.TotalSeconds:N0} s");
                }
            }
        }

        // A run stopped half-way may have left the old file's WAL and shared memory: SQLite must never pair them with the new file.
        TempLedgerFile.Delete(path);
        File.Move(building, path, overwrite: true);
        File.Move(building + "-head", path + "-head", overwrite: true);
        TempLedgerFile.Delete(building);
        Log($"ledger built in {total.Elapsed.TotalSeconds:N0} s: {TempLedgerFile.Size(path) / 1e9:N2} GB");

        // The first spend query rolls up every settlement: the one-off cost of a ledger that never had a rollup.
        var rollup = Stopwatch.StartNew();
        using (SqliteLedgerReader reader = SqliteLedgerReader.Open(path))
        {
            reader.QuerySpendAsync(new SpendQuery { From = DateOnly.FromDateTime(Start.UtcDateTime), To = DateOnly.FromDateTime(Start.UtcDateTime).AddDays(1) }).AsTask().GetAwaiter().GetResult();
        }

        Log($"spend rollup of {events:N0} settlements built in {rollup.Elapsed.TotalSeconds:N1} s ({events / rollup.Elapsed.TotalSeconds:N0} settlements/s)");
    }

    private static void Log(string message) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// metering ledger: {message}"));
}
