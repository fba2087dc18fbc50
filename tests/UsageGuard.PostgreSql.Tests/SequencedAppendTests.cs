using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>Many writers, one chain: the store numbers, balances and chains entries that no writer sequenced (design 1 of docs/scale-out.md).</summary>
[TestFixture]
public sealed class SequencedAppendTests
{
    private readonly List<PostgreSqlLedgerStore> _stores = [];
    private string _schema = null!;

    [SetUp]
    public void NewSchema() => _schema = PostgresServer.NewSchema();

    [TearDown]
    public async Task DropSchema()
    {
        foreach (PostgreSqlLedgerStore store in _stores)
        {
            await store.DisposeAsync();
        }

        _stores.Clear();
        await PostgresServer.DropSchemaAsync(_schema);
    }

    private async Task<PostgreSqlLedgerStore> InstanceAsync()
    {
        PostgreSqlLedgerStore store = await PostgreSqlLedgerStore.CreateAsync(new PostgreSqlLedgerStoreOptions { ConnectionString = PostgresServer.ConnectionString, Schema = _schema });
        _stores.Add(store);
        return store;
    }

    private static LedgerEntry Grant(string customer, long units)
    {
        var block = new CreditBlock(Guid.NewGuid(), customer, "credits", CreditAmount.FromUnits(units, 6), DateTimeOffset.UnixEpoch, null, 0, CreditCategory.Paid, null, null, null, DateTimeOffset.UnixEpoch);
        return new LedgerEntry { Timestamp = DateTimeOffset.UnixEpoch, Kind = LedgerEntryKind.Grant, CustomerId = customer, CreditType = "credits", BlockId = block.Id, Block = block, Amount = block.Amount };
    }

    [TestCase(1)]
    [TestCase(2)]
    public async Task FourInstancesAppendingAtOnce_MakeOneChainThatVerifies_WithEveryWalletsBalance(int seed)
    {
        var instances = new PostgreSqlLedgerStore[4];
        for (int i = 0; i < instances.Length; i++)
        {
            instances[i] = await InstanceAsync();
        }

        string[] customers = ["acme", "globex", "initech"];
        var granted = new long[customers.Length];
        int appended = 0;
        Task[] writers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            var random = new Random((seed * 100) + w);
            PostgreSqlLedgerStore store = instances[w % instances.Length];
            for (int b = 0; b < 15; b++)
            {
                var batch = new List<LedgerEntry>();
                for (int n = random.Next(1, 5); n > 0; n--)
                {
                    int c = random.Next(customers.Length);
                    long units = random.Next(1, 1_000_000);
                    Interlocked.Add(ref granted[c], units);
                    batch.Add(Grant(customers[c], units));
                }

                IReadOnlyList<LedgerEntry> stored = await store.AppendSequencedAsync(batch, []);
                stored.Select(e => e.Sequence).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
                Interlocked.Add(ref appended, stored.Count);
            }
        })).ToArray();
        await Task.WhenAll(writers);

        var all = new List<LedgerEntry>();
        await foreach (LedgerEntry entry in instances[0].ReadAsync(0))
        {
            all.Add(entry);
        }

        all.Should().HaveCount(appended);
        all.Select(e => e.Sequence).Should().Equal(Enumerable.Range(1, appended).Select(i => (long)i), "one gapless sequence across every writer");
        LedgerVerificationResult verified = await LedgerVerifier.VerifyAsync(instances[1].ReadAsync(0));
        verified.IsValid.Should().BeTrue(verified.Problem);
        for (int c = 0; c < customers.Length; c++)
        {
            all.Last(e => e.CustomerId == customers[c]).BalanceAfter.Units.Should().Be(granted[c]);
        }
    }

    [Test]
    public async Task SequencedAppends_ChainOnTheNewestEntry_BalancePerWallet_AndCommitTheirKeys()
    {
        PostgreSqlLedgerStore store = await InstanceAsync();
        IReadOnlyList<LedgerEntry> first = await store.AppendSequencedAsync([Grant("acme", 5_000_000)], []);
        IReadOnlyList<LedgerEntry> second = await store.AppendSequencedAsync([Grant("acme", 2_000_000), Grant("globex", 1_000_000)], [new IdempotencyRecord { CustomerId = "acme", Key = "k", Fingerprint = "f", CreatedAt = DateTimeOffset.UnixEpoch, Outcome = "o" }]);

        first.Single().Sequence.Should().Be(1);
        second.Select(e => e.Sequence).Should().Equal(2L, 3L);
        second[0].PreviousHash.Should().Be(first[0].Hash);
        second[0].BalanceBefore.Units.Should().Be(5_000_000);
        second[0].BalanceAfter.Units.Should().Be(7_000_000);
        second[1].BalanceBefore.Units.Should().Be(0, "globex's own wallet");
        (await store.FindIdempotencyRecordAsync("acme", "k")).Should().NotBeNull("the key commits with its effect");
        (await LedgerVerifier.VerifyAsync(store.ReadAsync(0))).IsValid.Should().BeTrue();
    }
}
