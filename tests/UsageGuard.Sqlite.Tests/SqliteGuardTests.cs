using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Sqlite.Tests;

/// <summary>The engine over a SQLite file: what a restart rebuilds, snapshots, idempotency across restarts, and the DI wiring.</summary>
[TestFixture]
public sealed class SqliteGuardTests : FileFixture
{
    [Test]
    public async Task Restart_RebuildsBalancesHistoryAndTheChain()
    {
        await using SqliteGuard g = await SqliteGuard.StartAsync(Dir.File("ledger.db"));
        await g.GrantAsync("acme", 100m);
        await g.GrantAsync("globex", 50m);
        await g.SpendAsync("acme", 10m, 7.5m);
        await g.SpendAsync("globex", 5m, 5m);
        ReservationResult open = await g.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 20m });
        List<LedgerEntry> before = await g.EntriesAsync();

        await g.RestartAsync();

        g.Balance("acme").Should().Be(92.5m);
        g.Balance("globex").Should().Be(45m);
        g.Ledger.GetBalance("acme").Available.ToDecimal().Should().Be(92.5m, "holds live in memory and do not survive a restart");
        (await g.EntriesAsync()).Select(e => e.Hash).Should().Equal(before.Select(e => e.Hash), "the hash covers every field");
        (await g.Ledger.VerifyAsync()).IsValid.Should().BeTrue();
        open.IsAdmitted.Should().BeTrue();
    }

    [Test]
    public async Task Restart_ReplaysAKeyedConsumeInsteadOfApplyingItTwice()
    {
        await using SqliteGuard g = await SqliteGuard.StartAsync(Dir.File("ledger.db"));
        await g.GrantAsync("acme", 100m, key: "grant-1");
        var request = new ReservationRequest { CustomerId = "acme", Amount = 30m, IdempotencyKey = "c-1" };
        ConsumeResult first = await g.Gate.ConsumeAsync(request);

        await g.RestartAsync();
        ConsumeResult again = await g.Gate.ConsumeAsync(request);
        GrantResult grantAgain = await g.GrantAsync("acme", 100m, key: "grant-1");

        again.Replayed.Should().BeTrue();
        again.Settlement.Charged.Should().Be(first.Settlement.Charged);
        grantAgain.Replayed.Should().BeTrue();
        g.Balance("acme").Should().Be(70m);
        RawSqlite.Scalar(Dir.File("ledger.db"), "SELECT count(*) FROM ug_idempotency;").Should().Be(2L);
    }

    [TestCase(8192)]
    [TestCase(64)]
    public async Task Budgets_AreRebuiltFromTheFileAfterARestart_AcrossPagesAndTheCustomerIndex(int indexEvery)
    {
        var acme = new CustomerGovernanceOptions { CustomerId = "acme" };
        acme.Subjects.Add(new SubjectOptions { Id = "eng" });
        acme.Subjects.Add(new SubjectOptions { Id = "search", Parent = "eng" });
        var month = new BudgetOptions { Id = "eng-month", Subject = "eng" };
        month.Limits.Add(new BudgetLimitOptions { Amount = 5_000, Window = "month" });
        month.Limits.Add(new BudgetLimitOptions { Measure = LimitMeasure.Requests, Amount = 10_000, Window = "day" });
        acme.Budgets.Add(month);
        var governance = new GovernanceOptions();
        governance.Customers.Add(acme);
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero));
        await using SqliteGuard g = await SqliteGuard.StartAsync(
            Dir.File("ledger.db"), o => o.SettlementDurability = Durability.WriteBehind, o => o.IndexEvery = indexEvery, time, governance);
        await g.GrantAsync("acme", 10_000m);
        await g.GrantAsync("globex", 10_000m);

        // More budgeted entries than one page of the restore's reads, some in the previous month, among another customer's entries.
        time.SetUtcNow(new DateTimeOffset(2026, 2, 27, 12, 0, 0, TimeSpan.Zero));
        await Spend(g, "search", null, 100m);
        time.SetUtcNow(new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero));
        for (int i = 0; i < 1_500; i++)
        {
            await Spend(g, "search", null, 1m);
            await g.SpendAsync("globex", 1m, 1m);
        }

        IReadOnlyList<BudgetUsage> before = g.Budgets.GetBudgetUsage("acme");
        before.Select(u => u.Used).Should().Equal(1_500m, 1_500m);

        await g.RestartAsync();

        g.Budgets.GetBudgetUsage("acme").Should().Equal(before);
        (await g.Budgets.GetBudgetUsageAsync("acme", new DateTimeOffset(2026, 2, 28, 0, 0, 0, TimeSpan.Zero))).Select(u => u.Used).Should().Equal(100m, 0m);
        (await g.Ledger.VerifyAsync()).IsValid.Should().BeTrue();
    }

    [TestCase(8192)]
    [TestCase(3)]
    public async Task HistoryAndBalanceAsOf_AreServedFromTheFileAfterARestart(int indexEvery)
    {
        await using SqliteGuard g = await SqliteGuard.StartAsync(Dir.File("ledger.db"), configureStore: o => o.IndexEvery = indexEvery);
        DateTimeOffset t0 = g.Time.GetUtcNow();
        await g.GrantAsync("acme", 100m);
        g.Time.Advance(TimeSpan.FromHours(1));
        await Spend(g, "acme/eng/search", "s-1", 10m);
        g.Time.Advance(TimeSpan.FromHours(1));
        await Spend(g, "acme/ops", "s-2", 5m);
        await g.GrantAsync("globex", 7m);

        await g.RestartAsync();

        (await g.Ledger.GetBalanceAsOfAsync("acme", t0.AddMinutes(30))).ToDecimal().Should().Be(100m);
        (await g.Ledger.GetBalanceAsOfAsync("acme", t0.AddMinutes(90))).ToDecimal().Should().Be(90m);
        (await g.Ledger.GetBalanceAsOfAsync("acme", DateTimeOffset.MaxValue)).ToDecimal().Should().Be(85m);
        (await g.Ledger.GetHistoryAsync(new LedgerQuery { CustomerId = "acme", Subject = "acme/eng/search" })).Should().ContainSingle().Which.Amount.ToDecimal().Should().Be(-10m);
        (await g.Ledger.GetHistoryAsync(new LedgerQuery { CustomerId = "acme", SessionId = "s-2" })).Should().ContainSingle().Which.Subject.Should().Be("acme/ops");
        (await g.Ledger.GetHistoryAsync(new LedgerQuery { CustomerId = "acme", Model = "m", Feature = "chat", From = t0.AddMinutes(90) })).Should().ContainSingle();
        var pages = new List<long>();
        long after = 0;
        while (await g.Ledger.GetHistoryAsync(new LedgerQuery { CustomerId = "acme", AfterSequence = after, Limit = 1 }) is [LedgerEntry next])
        {
            pages.Add(next.Sequence);
            after = next.Sequence;
        }

        pages.Should().Equal(1, 2, 3);
    }

    [Test]
    public async Task Snapshots_AreWrittenEveryIntervalAndAtShutdown_AndStartUpReplaysOnlyTheTail()
    {
        string path = Dir.File("ledger.db");
        await using SqliteGuard g = await SqliteGuard.StartAsync(path, o => o.SnapshotInterval = 10);
        await g.GrantAsync("acme", 1000m);
        for (int i = 0; i < 25; i++)
        {
            await g.SpendAsync("acme", 2m, 1m);
        }

        long newestWhileRunning = (long)RawSqlite.Scalar(path, "SELECT max(seq) FROM ug_snapshots;")!;
        await g.RestartAsync();

        newestWhileRunning.Should().BeGreaterThanOrEqualTo(20, "a snapshot is saved after every 10 entries");
        RawSqlite.Scalar(path, "SELECT max(seq) FROM ug_snapshots;").Should().Be(26L, "shutdown saves one at the last entry");
        RawSqlite.Scalar(path, "SELECT count(*) FROM ug_snapshots;").Should().Be(2L, "older snapshots are deleted");
        g.Balance("acme").Should().Be(975m);
        await g.SpendAsync("acme", 2m, 2m);
        (await g.Ledger.VerifyAsync()).IsValid.Should().BeTrue();
    }

    [Test]
    public async Task Snapshot_PrunesIdempotencyRecordsPastTheRetentionWindow()
    {
        string path = Dir.File("ledger.db");
        await using SqliteGuard g = await SqliteGuard.StartAsync(path, o =>
        {
            o.SnapshotInterval = 1;
            o.IdempotencyRetention = TimeSpan.FromDays(1);
        });
        await g.GrantAsync("acme", 10m, key: "old");
        g.Time.Advance(TimeSpan.FromDays(2));

        await g.GrantAsync("acme", 10m, key: "new");
        await g.RestartAsync();

        RawSqlite.Scalar(path, "SELECT group_concat(key) FROM ug_idempotency;").Should().Be("new");
    }

    [Test]
    public async Task StartUp_RefusesAnEntryChangedAfterItWasWritten_AndVerifyNamesIt()
    {
        string path = Dir.File("ledger.db");
        await using (SqliteGuard g = await SqliteGuard.StartAsync(path, o => o.SnapshotInterval = 0))
        {
            await g.GrantAsync("acme", 100m);
            await g.SpendAsync("acme", 10m, 10m);
            await g.SpendAsync("acme", 10m, 10m);
        }

        // Start-up checks every entry after the newest snapshot; without snapshots, that is all of them.
        RawSqlite.Execute(path, "UPDATE ug_entries SET amount = amount + 1 WHERE seq = 2; DELETE FROM ug_snapshots;");

        Func<Task> start = () => SqliteGuard.StartAsync(path);
        (await start.Should().ThrowAsync<LedgerCorruptedException>()).Which.Message.Should().Contain("sequence 2");
        using var store = SqliteLedgerStore.Open(path);
        LedgerVerificationResult verified = await LedgerVerifier.VerifyAsync(store.ReadAsync(0));
        verified.FirstBadSequence.Should().Be(2);
    }

    [Test]
    public async Task StartUp_RefusesFlippedBytesInTheDatabaseFile()
    {
        string path = Dir.File("ledger.db");
        LedgerHash damaged;
        await using (SqliteGuard g = await SqliteGuard.StartAsync(path, o => o.SnapshotInterval = 0))
        {
            await g.GrantAsync("acme", 100m);
            await g.SpendAsync("acme", 10m, 10m);
            damaged = (await g.EntriesAsync())[0].Hash;
        }

        byte[] needle = new byte[LedgerHash.Size];
        damaged.CopyTo(needle);
        RawSqlite.FlipBitOf(path, needle);
        RawSqlite.Execute(path, "DELETE FROM ug_snapshots;");

        Func<Task> start = () => SqliteGuard.StartAsync(path);
        await start.Should().ThrowAsync<LedgerCorruptedException>();
    }

    [Test]
    public async Task Open_RefusesAFileWhoseHeaderIsDamaged()
    {
        string path = Dir.File("ledger.db");
        await using (SqliteGuard g = await SqliteGuard.StartAsync(path))
        {
            await g.GrantAsync("acme", 100m);
        }

        using (FileStream file = File.OpenWrite(path))
        {
            file.Write("NOT A DATABASE!!"u8);
        }

        Action open = () => SqliteLedgerStore.Open(path);
        open.Should().Throw<LedgerCorruptedException>().Which.Message.Should().Contain("damaged or is not a SQLite database");
    }

    [Test]
    public async Task UseSqlite_KeepsTheLedgerInTheFileAcrossServiceProviders()
    {
        string path = Dir.File("di.db");
        await using (ServiceProvider first = Services(path))
        {
            await first.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 40m });
        }

        await using ServiceProvider second = Services(path);

        second.GetRequiredService<ICreditLedger>().GetBalance("acme").Balance.ToDecimal().Should().Be(40m);
        second.GetRequiredService<ILedgerStore>().Should().BeOfType<SqliteLedgerStore>();
    }

    [Test]
    public async Task UseSqlite_WithACatalog_KeepsUsageWindowsAndCatalogVersionsAcrossServiceProviders()
    {
        // A metered limit of 100 a month, used 60 before the process stops: the next one starts the window at 60.
        string path = Dir.File("catalog.db");
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 8, 10, 0, 0, 0, TimeSpan.Zero));
        string? version;
        await using (ServiceProvider first = CatalogServices(path, time))
        {
            IEntitlementGuard guard = first.GetRequiredService<IEntitlementGuard>();
            (await guard.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Feature = "api.calls", Quantity = 60 })).IsAdmitted.Should().BeTrue();
            version = guard.Check("acme", "api.calls").CatalogVersion;
        }

        await using ServiceProvider second = CatalogServices(path, time);
        IEntitlementGuard restarted = second.GetRequiredService<IEntitlementGuard>();

        restarted.Check("acme", "api.calls").Used.Should().Be(60);
        (await restarted.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Feature = "api.calls", Quantity = 41 })).Status.Should().Be(ReservationStatus.LimitReached);
        LedgerEntry usage = (await second.GetRequiredService<ILedgerStore>().ReadAsync(0).ToListAsync()).Single(e => e.Kind == LedgerEntryKind.Usage);
        usage.CatalogVersion.Should().Be(version);
        usage.Usage!.Value.Should().Be(new MeteredUsage("feature:api.calls", 60, UsageWindow.Month, new DateTimeOffset(2026, 8, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 9, 1, 0, 0, 0, TimeSpan.Zero)));
        (await second.GetRequiredService<ICreditLedger>().VerifyAsync()).IsValid.Should().BeTrue();
    }

    [Test]
    public void UseSqlite_RejectsAnEmptyPathAndBadOptions()
    {
        IUsageGuardBuilder builder = new ServiceCollection().AddUsageGuard();

        builder.Invoking(b => b.UseSqlite(" ")).Should().Throw<ArgumentException>();
        builder.Invoking(b => b.UseSqlite(o => o.SnapshotsToKeep = 0)).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("SnapshotsToKeep");
        builder.Invoking(b => b.UseSqlite(o => o.MaxDatabaseBytes = -1)).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("MaxDatabaseBytes");
    }

    private static async Task Spend(SqliteGuard g, string subject, string? session, decimal amount)
    {
        ReservationResult r = await g.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = amount, Subject = subject, SessionId = session, Model = "m", Feature = "chat" });
        await g.Gate.SettleAsync(r.Reservation, amount);
    }

    private static ServiceProvider CatalogServices(string path, TimeProvider time)
    {
        var services = new ServiceCollection();
        services.AddSingleton(time);
        services.AddUsageGuard(o => o.ReservationSweepInterval = TimeSpan.Zero).UseSqlite(path).UseCatalog(c =>
        {
            c.Features.Add(new FeatureOptions { Id = "api.calls", Kind = FeatureKind.Metered });
            var plan = new PlanOptions { Id = "starter" };
            plan.Entitlements.Add(new EntitlementOptions { Feature = "api.calls", Limit = 100, Window = UsageWindow.Month });
            c.Plans.Add(plan);
            c.Subscriptions.Add(new SubscriptionOptions { Customer = "acme", Plan = "starter", Start = new DateTimeOffset(2026, 8, 1, 0, 0, 0, TimeSpan.Zero) });
        });
        return services.BuildServiceProvider();
    }

    private static ServiceProvider Services(string path)
    {
        var services = new ServiceCollection();
        services.AddUsageGuard(o => o.ReservationSweepInterval = TimeSpan.Zero).UseSqlite(path);
        return services.BuildServiceProvider();
    }
}
