using System.Globalization;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>Snapshots with many instances: each instance's follower keeps the whole ledger and saves it, so a start replays only what follows.</summary>
[TestFixture]
public sealed class SharedSnapshotTests
{
    private string _schema = null!;

    [SetUp]
    public void NewSchema() => _schema = PostgresServer.NewSchema();

    [TearDown]
    public Task DropSchema() => PostgresServer.DropSchemaAsync(_schema);

    [Test]
    public async Task Followers_SaveSnapshotsOfTheWholeLedger_AndAStartFromTheNewestHasTheBalancesOfAFullReplay()
    {
        await using ServiceProvider a = ManyInstancesTests.Instance(_schema, guard: o => o.SnapshotInterval = 50);
        await using ServiceProvider b = ManyInstancesTests.Instance(_schema, guard: o => o.SnapshotInterval = 50);
        await a.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 1_000m });
        await b.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "beta", Amount = 500m });
        await ManyInstancesTests.WaitUntilAsync(() => ManyInstancesTests.Balance(b.GetRequiredService<ICreditLedger>(), "acme") == 1_000m, "B follows A's grant");
        await ManyInstancesTests.WaitUntilAsync(() => ManyInstancesTests.Balance(a.GetRequiredService<ICreditLedger>(), "beta") == 500m, "A follows B's grant");

        // Both instances write: each one's snapshots must hold the other's entries too.
        await Task.WhenAll(new[] { a, b }.Select(instance => Task.Run(async () =>
        {
            var guard = instance.GetRequiredService<IEntitlementGuard>();
            for (int i = 0; i < 150; i++)
            {
                string customer = i % 3 == 0 ? "beta" : "acme";
                (await guard.ConsumeAsync(new ReservationRequest { CustomerId = customer, Amount = 1m })).IsAdmitted.Should().BeTrue();
            }
        })));

        long newest = 0;
        await ManyInstancesTests.WaitUntilAsync(
            () =>
            {
                newest = Convert.ToInt64(PostgresServer.ScalarAsync($"SELECT coalesce(max(seq), 0) FROM {_schema}.ug_snapshots;").GetAwaiter().GetResult(), CultureInfo.InvariantCulture);
                return newest >= 250;
            },
            "a follower saves a snapshot past most of the 302 entries");

        // The newest snapshot is exactly the ledger replayed through it.
        await using var store = new PostgreSqlLedgerStore(new PostgreSqlLedgerStoreOptions { ConnectionString = PostgresServer.ConnectionString, Schema = _schema, ManyInstances = true });
        LedgerSnapshot snapshot = (await store.LoadLatestSnapshotAsync())!;
        var replayed = LedgerProjection.FromSnapshot(null);
        LedgerHash hash = LedgerHash.Genesis;
        await foreach (LedgerEntry entry in store.ReadAsync(0))
        {
            if (entry.Sequence > snapshot.Sequence)
            {
                break;
            }

            replayed.Apply(entry, out _, out _).Should().BeNull();
            hash = entry.Hash;
        }

        snapshot.LastHash.Should().Be(hash);
        snapshot.Should().BeEquivalentTo(replayed.ToSnapshot(snapshot.Sequence, hash));

        // A third instance starts from it and agrees with the others.
        await using ServiceProvider c = ManyInstancesTests.Instance(_schema);
        var ledgerC = c.GetRequiredService<ICreditLedger>();
        ManyInstancesTests.Balance(ledgerC, "acme").Should().Be(1_000m - 200m);
        ManyInstancesTests.Balance(ledgerC, "beta").Should().Be(500m - 100m);
        (await ledgerC.VerifyAsync()).IsValid.Should().BeTrue();
    }
}
