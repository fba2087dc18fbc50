using FluentAssertions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Sqlite.Tests;

/// <summary>The SQLite store's spend rollup file: kept across restarts, caught up after them, rebuilt when lost or damaged.</summary>
public sealed class SpendIndexTests : FileFixture
{
    private static readonly SpendQuery ByCustomerAndDay = new()
    {
        From = new DateOnly(2026, 1, 1),
        To = new DateOnly(2027, 1, 1),
        GroupBy = SpendGrouping.Customer | SpendGrouping.Day | SpendGrouping.Subject,
    };

    /// <summary>Hides the store's rollup, so <see cref="SpendReports"/> sums every event: the reference answer.</summary>
    private sealed class EventsOnly(ILedgerStore inner) : DelegatingLedgerStore(inner);

    private static async Task Spend(SqliteGuard g, int count)
    {
        for (int i = 0; i < count; i++)
        {
            (await g.Gate.ConsumeAsync(new ReservationRequest { CustomerId = i % 2 == 0 ? "acme" : "globex", Amount = 0.25m * (1 + (i % 5)), Subject = $"org/team-{i % 3}" })).IsAdmitted.Should().BeTrue();
            g.Time.Advance(TimeSpan.FromHours(7));
        }

        await g.Ledger.FlushAsync();
    }

    private static async Task<IReadOnlyList<SpendRow>> Expected(SqliteLedgerStore store) => await SpendReports.QueryAsync(new EventsOnly(store), ByCustomerAndDay);

    [Test]
    public async Task Rollup_IsKeptAcrossARestart_CaughtUpAfterIt_AndRebuiltWhenDeletedOrDamaged()
    {
        string path = Dir.File("spend.db");
        await using SqliteGuard g = await SqliteGuard.StartAsync(path, time: new ManualTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero)));
        await g.GrantAsync("acme", 1_000m);
        await g.GrantAsync("globex", 1_000m);
        await Spend(g, 40);

        g.Store.Should().BeAssignableTo<ISpendQueries>();
        IReadOnlyList<SpendRow> first = await g.Store.QuerySpendAsync(ByCustomerAndDay);
        first.Should().Equal(await Expected(g.Store)).And.NotBeEmpty();
        File.Exists(path + "-spend").Should().BeTrue();

        await g.RestartAsync();
        await Spend(g, 30);
        (await g.Store.QuerySpendAsync(ByCustomerAndDay)).Should().Equal(await Expected(g.Store), "the rollup kept its mark and rolled up only what came after");

        await g.Guard.DisposeAsync();
        g.Store.Dispose();
        File.Delete(path + "-spend");
        File.Delete(path + "-spend-wal");
        await g.RestartAsync();
        (await g.Store.QuerySpendAsync(ByCustomerAndDay)).Should().Equal(await Expected(g.Store), "a lost rollup is rebuilt from the ledger");

        await g.Guard.DisposeAsync();
        g.Store.Dispose();
        File.WriteAllText(path + "-spend", "not a database");
        File.Delete(path + "-spend-wal");
        await g.RestartAsync();
        (await g.Store.QuerySpendAsync(ByCustomerAndDay)).Should().Equal(await Expected(g.Store), "a damaged rollup is rebuilt from the ledger");
    }
}
