using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NUnit.Framework;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>Admin changes to governance with many instances: published on the store's feed, applied by every instance in one order, within a second.</summary>
[TestFixture]
public sealed class SharedChangesTests
{
    private string _schema = null!;

    [SetUp]
    public void NewSchema() => _schema = PostgresServer.NewSchema();

    [TearDown]
    public Task DropSchema() => PostgresServer.DropSchemaAsync(_schema);

    private ServiceProvider Instance(string? connectionString = null) =>
        ManyInstancesTests.Instance(_schema, governance: g => ManyInstancesTests.TeamBudget(g, 300m), connectionString: connectionString);

    private static BudgetOptions Cap(string id, decimal amount, bool perSession = false) => new()
    {
        Id = id,
        Subject = "agent",
        PerSession = perSession,
        Limits = { new BudgetLimitOptions { Amount = amount, Window = "day" } },
    };

    private static decimal? LimitOf(ServiceProvider instance, string budgetId, string? sessionId = null) =>
        instance.GetRequiredService<IUsageGovernance>().GetBudgetUsage("acme", sessionId: sessionId).Where(u => u.BudgetId == budgetId).Select(u => (decimal?)u.Limit).FirstOrDefault();

    [Test]
    public async Task ABudgetSetOnOneInstance_IsEnforcedByTheOthers_WithinASecond()
    {
        await using ServiceProvider a = Instance();
        await using ServiceProvider b = Instance();
        await a.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 1_000m });
        var guardB = b.GetRequiredService<IEntitlementGuard>();
        await ManyInstancesTests.WaitUntilAsync(() => ManyInstancesTests.Balance(b.GetRequiredService<ICreditLedger>(), "acme") == 1_000m, "B follows the grant");

        a.GetRequiredService<IUsageGovernance>().SetBudget("acme", Cap("emergency", 5m));
        await ManyInstancesTests.WaitUntilAsync(() => LimitOf(b, "emergency") == 5m, "B applies A's budget", seconds: 1);

        (await guardB.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Subject = "agent", Amount = 5m })).Status.Should().Be(ReservationStatus.Admitted);
        ConsumeResult refused = await guardB.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Subject = "agent", Amount = 1m });
        refused.Status.Should().Be(ReservationStatus.BudgetExceeded);
        refused.Budget!.Value.BudgetId.Should().Be("emergency");

        a.GetRequiredService<IUsageGovernance>().RemoveBudget("acme", "emergency").Should().BeTrue();
        await ManyInstancesTests.WaitUntilAsync(() => LimitOf(b, "emergency") is null, "B removes it", seconds: 1);
        (await guardB.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Subject = "agent", Amount = 1m })).Status.Should().Be(ReservationStatus.Admitted);
    }

    [TestCase(1)]
    [TestCase(2)]
    public async Task ConcurrentChangesOnTwoInstances_EndTheSameOnEveryInstance_InTheFeedsOrder(int seed)
    {
        await using ServiceProvider a = Instance();
        await using ServiceProvider b = Instance();
        var random = new Random(seed);
        int[] amounts = [.. Enumerable.Range(0, 40).Select(_ => random.Next(1, 1000))];
        await Task.WhenAll(
            Task.Run(() => { for (int i = 0; i < 20; i++) { a.GetRequiredService<IUsageGovernance>().SetBudget("acme", Cap("cap", amounts[i])); } }),
            Task.Run(() => { for (int i = 20; i < 40; i++) { b.GetRequiredService<IUsageGovernance>().SetBudget("acme", Cap("cap", amounts[i])); } }));

        string last = (string)(await PostgresServer.ScalarAsync($"SELECT payload FROM {_schema}.ug_changes ORDER BY seq DESC LIMIT 1;"))!;
        decimal expected = GovernanceChange.Decode(last).Budget!.Limits[0].Amount;
        await ManyInstancesTests.WaitUntilAsync(() => LimitOf(a, "cap") == expected && LimitOf(b, "cap") == expected, "both instances end with the feed's last change", seconds: 2);
        (await PostgresServer.ScalarAsync($"SELECT count(*) FROM {_schema}.ug_changes;")).Should().Be(40L);
        await Task.Delay(300);
        LimitOf(a, "cap").Should().Be(expected);
        LimitOf(b, "cap").Should().Be(expected);
    }

    [Test]
    public async Task AnInstanceStartedLater_StartsWithEveryAdminChange()
    {
        await using (ServiceProvider a = Instance())
        {
            IUsageGovernance governance = a.GetRequiredService<IUsageGovernance>();
            governance.SetSubject("acme", "intern", "search");
            governance.SetBudget("acme", new BudgetOptions { Id = "intern-cap", Subject = "intern", Limits = { new BudgetLimitOptions { Amount = 2m, Window = "day" } } });
            governance.SetTimeZone("acme", "Europe/Paris");
        }

        await using ServiceProvider later = Instance();
        BudgetUsage cap = later.GetRequiredService<IUsageGovernance>().GetBudgetUsage("acme", "intern").Single(u => u.BudgetId == "intern-cap");
        cap.Limit.Should().Be(2m);
        TimeZoneInfo paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");
        TimeZoneInfo.ConvertTime(cap.WindowStart!.Value, paris).TimeOfDay.Should().Be(TimeSpan.Zero, "the day window aligns to Paris midnight");
    }

    [Test]
    public async Task AChangeThatCannotReachTheStore_Throws_AndChangesNothingHere()
    {
        var direct = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString);
        await using var proxy = new CuttableProxy(direct.Host!, direct.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 2, CommandTimeout = 5 };
        await using ServiceProvider a = Instance(viaProxy.ConnectionString);
        IUsageGovernance governance = a.GetRequiredService<IUsageGovernance>();
        governance.SetBudget("acme", Cap("cap", 10m));

        proxy.Cut();
        Action change = () => governance.SetBudget("acme", Cap("cap", 20m));
        change.Should().Throw<LedgerUnavailableException>();
        Action remove = () => governance.RemoveBudget("acme", "cap");
        remove.Should().Throw<LedgerUnavailableException>();
        proxy.Restore();

        LimitOf(a, "cap").Should().Be(10m, "a change the store did not take is undone here");
        (await PostgresServer.ScalarAsync($"SELECT count(*) FROM {_schema}.ug_changes;")).Should().Be(1L);
    }

    [Test]
    public async Task ASessionResetOnOneInstance_ClosesItsBreakerOnTheOthers_WithAFreshBudget()
    {
        await using ServiceProvider a = Instance();
        await using ServiceProvider b = Instance();
        a.GetRequiredService<IUsageGovernance>().SetBudget("acme", Cap("per-session", 3m, perSession: true));
        await a.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 1_000m });
        await ManyInstancesTests.WaitUntilAsync(() => ManyInstancesTests.Balance(b.GetRequiredService<ICreditLedger>(), "acme") == 1_000m && LimitOf(b, "per-session", "s1") == 3m, "B follows");
        var guardB = b.GetRequiredService<IEntitlementGuard>();
        var request = new ReservationRequest { CustomerId = "acme", Subject = "agent", SessionId = "s1", Amount = 3m };
        (await guardB.ConsumeAsync(request)).Status.Should().Be(ReservationStatus.Admitted);
        (await guardB.ConsumeAsync(request with { Amount = 1m })).Status.Should().BeOneOf(ReservationStatus.BudgetExceeded, ReservationStatus.SessionTripped);
        (await guardB.ConsumeAsync(request with { Amount = 1m })).Status.Should().Be(ReservationStatus.SessionTripped, "the session's breaker is open");

        a.GetRequiredService<IUsageGovernance>().ResetSession("acme", "s1");

        await ManyInstancesTests.WaitUntilAsync(
            () => guardB.ConsumeAsync(request).AsTask().GetAwaiter().GetResult().IsAdmitted,
            "B admits the session again, with its whole per-session budget",
            seconds: 1);
        (await guardB.ConsumeAsync(request with { Amount = 1m })).Status.Should().BeOneOf([ReservationStatus.BudgetExceeded, ReservationStatus.SessionTripped], "the fresh budget holds 3, no more");
    }
}
