using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Sqlite.Tests;

/// <summary>
/// History queries read the customer index up to its last indexed entry and scan the tail after it; whatever the split,
/// the answer must be the one the in-memory store gives for the same entries.
/// </summary>
[TestFixture]
public sealed class SqliteQueryTests : FileFixture
{
    private static readonly DateTimeOffset T0 = new(2026, 8, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] Customers = ["acme", "globex", "initech"];
    private static readonly string?[] Subjects = [null, "acme/eng", "acme/ops"];
    private static readonly string?[] Models = [null, "m1", "m2"];

    [TestCase(1, 7)]
    [TestCase(2, 64)]
    [TestCase(3, 1000)]
    public async Task Query_GivesWhatTheInMemoryStoreGives_AcrossIndexedAndUnindexedEntries(int seed, int indexEvery)
    {
        var random = new Random(seed);
        using var sqlite = new SqliteLedgerStore(new SqliteLedgerStoreOptions { ConnectionString = "Data Source=" + Dir.File("q.db"), IndexEvery = indexEvery });
        var memory = new InMemoryLedgerStore();
        long sequence = await FillAsync(random, sqlite, memory);

        for (int q = 0; q < 300; q++)
        {
            await QueryBothAsync(random, sqlite, memory, sequence, $"query {q} (seed {seed})");
        }
    }

    [Test]
    public async Task Index_IsFedByTheWriter_AndIsRebuiltFromTheLedgerWhenTheFileIsLost()
    {
        var random = new Random(7);
        string path = Dir.File("i.db");
        var memory = new InMemoryLedgerStore();
        var chain = new Chain();
        using (var sqlite = new SqliteLedgerStore(new SqliteLedgerStoreOptions { ConnectionString = "Data Source=" + path, IndexEvery = 16 }))
        {
            await FillAsync(random, sqlite, memory, chain);
            await CaughtUp(sqlite, chain.Sequence);
            sqlite.IndexReadBack.Should().Be(0, "the writer hands every committed entry to the indexer; nothing is read back");
        }

        IndexedPairs(path).Should().Equal(LedgerPairs(path), "every entry is indexed once, under its customer");
        long before = chain.Sequence;
        File.Delete(path + "-index");
        File.Delete(path + "-index-wal");

        using var reopened = new SqliteLedgerStore(new SqliteLedgerStoreOptions { ConnectionString = "Data Source=" + path, IndexEvery = 16 });
        for (int q = 0; q < 50; q++)
        {
            await QueryBothAsync(random, reopened, memory, chain.Sequence, $"query {q} while the index is rebuilt");
        }

        // Commits during the rebuild are handed over while the indexer still reads older entries back: it must join the two.
        await FillAsync(random, reopened, memory, chain);
        await CaughtUp(reopened, chain.Sequence);
        reopened.IndexReadBack.Should().BeGreaterThanOrEqualTo(before, "the entries before the reopening exist only in the ledger");
        for (int q = 0; q < 50; q++)
        {
            await QueryBothAsync(random, reopened, memory, chain.Sequence, $"query {q} after the rebuild");
        }

        IndexedPairs(path).Should().Equal(LedgerPairs(path), "the rebuilt index names every entry once, under its customer");
    }

    [Test]
    public async Task Index_WhenTheIndexerFallsBehindTheHandOverLimit_ReadsTheDroppedEntriesBack()
    {
        var random = new Random(13);
        string path = Dir.File("h.db");
        var memory = new InMemoryLedgerStore();

        // The indexer wakes only when the ledger is quiet (200 ms), so 40 quick batches overflow a hand-over of 50 entries.
        using var sqlite = new SqliteLedgerStore(new SqliteLedgerStoreOptions { ConnectionString = "Data Source=" + path, IndexEvery = 1_000_000, IndexHandOverLimit = 50 });
        long sequence = await FillAsync(random, sqlite, memory);
        await CaughtUp(sqlite, sequence);

        sqlite.IndexReadBack.Should().BeGreaterThan(0, "entries dropped from the hand-over are read back from the ledger");
        IndexedPairs(path).Should().Equal(LedgerPairs(path), "dropped or not, every entry is indexed once, under its customer");
        for (int q = 0; q < 50; q++)
        {
            await QueryBothAsync(random, sqlite, memory, sequence, $"query {q} after a read-back");
        }
    }

    [Test]
    public async Task Query_WhenTheIndexCannotBeRead_StillAnswersFromTheLedger()
    {
        var random = new Random(11);
        string path = Dir.File("r.db");
        var memory = new InMemoryLedgerStore();
        using var sqlite = new SqliteLedgerStore(new SqliteLedgerStoreOptions { ConnectionString = "Data Source=" + path, IndexEvery = 16 });
        long sequence = await FillAsync(random, sqlite, memory);
        await CaughtUp(sqlite, sequence);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (string suffix in new[] { "-index", "-index-wal", "-index-shm" })
        {
            File.Delete(path + suffix);
        }

        for (int q = 0; q < 50; q++)
        {
            await QueryBothAsync(random, sqlite, memory, sequence, $"query {q} with an unreadable index");
        }
    }

    private static async Task CaughtUp(SqliteLedgerStore store, long sequence)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (store.IndexedThrough < sequence)
        {
            clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(20), "the indexer fills the index when the ledger goes quiet");
            await Task.Delay(20);
        }
    }

    private static async Task QueryBothAsync(Random random, SqliteLedgerStore sqlite, InMemoryLedgerStore memory, long sequence, string because)
    {
        var query = new LedgerQuery
        {
            CustomerId = Customers[random.Next(Customers.Length)],
            CreditType = random.Next(3) == 0 ? "credits" : null,
            Subject = Subjects[random.Next(Subjects.Length)],
            Model = Models[random.Next(Models.Length)],
            From = random.Next(3) == 0 ? T0.AddMinutes(random.Next((int)sequence)) : null,
            To = random.Next(3) == 0 ? T0.AddMinutes(random.Next((int)sequence)) : null,
            AfterSequence = random.Next(2) == 0 ? 0 : random.Next((int)sequence),
            Limit = random.Next(1, 50),
        };

        IReadOnlyList<LedgerEntry> expected = await memory.QueryAsync(query);
        IReadOnlyList<LedgerEntry> actual = await sqlite.QueryAsync(query);

        actual.Select(e => e.Sequence).Should().Equal(expected.Select(e => e.Sequence), because);
    }

    private static async Task<long> FillAsync(Random random, SqliteLedgerStore sqlite, InMemoryLedgerStore memory, Chain? chain = null)
    {
        chain ??= new Chain();
        using var hasher = new LedgerEntryHasher();
        for (int batch = 0; batch < 40; batch++)
        {
            var entries = new LedgerEntry[random.Next(1, 60)];
            for (int i = 0; i < entries.Length; i++)
            {
                long sequence = ++chain.Sequence;
                var e = new LedgerEntry
                {
                    Sequence = sequence,
                    Timestamp = T0.AddMinutes(sequence),
                    Kind = LedgerEntryKind.Overage,
                    CustomerId = Customers[random.Next(Customers.Length)],
                    CreditType = random.Next(4) == 0 ? "usd" : "credits",
                    Amount = CreditAmount.FromUnits(sequence, 6),
                    BalanceBefore = CreditAmount.FromUnits(0, 6),
                    BalanceAfter = CreditAmount.FromUnits(0, 6),
                    Subject = Subjects[random.Next(Subjects.Length)],
                    Model = Models[random.Next(Models.Length)],
                    PreviousHash = chain.Previous,
                };
                entries[i] = e with { Hash = hasher.Compute(e, chain.Previous) };
                chain.Previous = entries[i].Hash;
            }

            await sqlite.AppendAsync(new LedgerBatch(entries, []));
            await memory.AppendAsync(new LedgerBatch(entries, []));
        }

        return chain.Sequence;
    }

    /// <summary>Every (customer, sequence number) pair the index file's posting lists name, sorted.</summary>
    private static List<string> IndexedPairs(string path)
    {
        var pairs = new List<string>();
        using Microsoft.Data.Sqlite.SqliteConnection connection = RawSqlite.Open(path + "-index");
        using Microsoft.Data.Sqlite.SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT customer_id, seqs FROM ug_customer_postings;";
        using Microsoft.Data.Sqlite.SqliteDataReader reader = command.ExecuteReader();
        var seqs = new List<long>();
        while (reader.Read())
        {
            seqs.Clear();
            CustomerIndex.Decode((byte[])reader.GetValue(1), seqs);
            pairs.AddRange(seqs.Select(seq => $"{reader.GetString(0)}/{seq}"));
        }

        pairs.Sort(StringComparer.Ordinal);
        return pairs;
    }

    private static List<string> LedgerPairs(string path)
    {
        var pairs = new List<string>();
        using Microsoft.Data.Sqlite.SqliteConnection connection = RawSqlite.Open(path);
        using Microsoft.Data.Sqlite.SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT customer_id, seq FROM ug_entries;";
        using Microsoft.Data.Sqlite.SqliteDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            pairs.Add($"{reader.GetString(0)}/{reader.GetInt64(1)}");
        }

        pairs.Sort(StringComparer.Ordinal);
        return pairs;
    }

    /// <summary>Where the test's ledger chain ends: its last sequence number and hash.</summary>
    private sealed class Chain
    {
        public long Sequence { get; set; }

        public LedgerHash Previous { get; set; } = LedgerHash.Genesis;
    }
}
