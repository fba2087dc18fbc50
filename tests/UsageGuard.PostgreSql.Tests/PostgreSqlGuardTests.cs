using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>A guard on the PostgreSQL store, started, used and started again over the same schema.</summary>
[TestFixture]
public sealed class PostgreSqlGuardTests
{
    private string _schema = null!;

    [SetUp]
    public void NewSchema() => _schema = PostgresServer.NewSchema();

    [TearDown]
    public Task DropSchema() => PostgresServer.DropSchemaAsync(_schema);

    private ServiceProvider Services(ManualTimeProvider time, Action<GovernanceOptions>? governance = null, string? connectionString = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        IUsageGuardBuilder builder = services.AddUsageGuard(o => o.ReservationSweepInterval = TimeSpan.Zero)
            .UsePostgreSql(o =>
            {
                o.ConnectionString = connectionString ?? PostgresServer.ConnectionString;
                o.Schema = _schema;
            });
        if (governance is not null)
        {
            builder.UseGovernance(governance);
        }

        return services.BuildServiceProvider();
    }

    [Test]
    public async Task Restart_RebuildsBalancesAndKeys_FromTheServer_AndTheChainVerifies()
    {
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero));
        ConsumeResult first;
        await using (ServiceProvider services = Services(time))
        {
            var ledger = services.GetRequiredService<ICreditLedger>();
            var guard = services.GetRequiredService<IEntitlementGuard>();
            await ledger.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 100m });
            await ledger.GrantAsync(new CreditGrant { CustomerId = "globex", Amount = 5m, ExpiresAt = time.GetUtcNow().AddDays(1) });
            ReservationResult r = await guard.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 30m, Subject = "eng/search", SessionId = "s-1" });
            await r.Reservation.SettleAsync(12.5m);
            first = await guard.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 2m, IdempotencyKey = "k-1" });
        }

        await using (ServiceProvider services = Services(time))
        {
            var ledger = services.GetRequiredService<ICreditLedger>();
            var guard = services.GetRequiredService<IEntitlementGuard>();

            ledger.GetBalance("acme").Balance.ToDecimal().Should().Be(85.5m);
            ledger.GetBalance("globex").Balance.ToDecimal().Should().Be(5m);
            ConsumeResult replay = await guard.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 2m, IdempotencyKey = "k-1" });
            replay.Replayed.Should().BeTrue("the key was committed with its effect");
            replay.Settlement.ReservationId.Should().Be(first.Settlement.ReservationId);
            ledger.GetBalance("acme").Balance.ToDecimal().Should().Be(85.5m);
            (await ledger.GetHistoryAsync(new LedgerQuery { CustomerId = "acme", SessionId = "s-1" })).Should().ContainSingle().Which.Amount.ToDecimal().Should().Be(-12.5m);
            LedgerVerificationResult verified = await ledger.VerifyAsync();
            verified.IsValid.Should().BeTrue(verified.Problem);
        }

        ((long)(await PostgresServer.ScalarAsync($"SELECT count(*) FROM {_schema}.ug_entries;"))!).Should().Be(4);
    }

    [Test]
    public async Task Restart_RebuildsBudgetWindows_FromTheServer()
    {
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero));
        void Governance(GovernanceOptions g)
        {
            var acme = new CustomerGovernanceOptions { CustomerId = "acme" };
            acme.Subjects.Add(new SubjectOptions { Id = "search" });
            var team = new BudgetOptions { Id = "team", Subject = "search" };
            team.Limits.Add(new BudgetLimitOptions { Amount = 10, Window = "month" });
            acme.Budgets.Add(team);
            g.Customers.Add(acme);
        }

        await using (ServiceProvider services = Services(time, Governance))
        {
            await services.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 100m });
            var guard = services.GetRequiredService<IEntitlementGuard>();
            for (int i = 0; i < 3; i++)
            {
                (await guard.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Subject = "search", Amount = 3m })).IsAdmitted.Should().BeTrue();
            }
        }

        await using (ServiceProvider services = Services(time, Governance))
        {
            var guard = services.GetRequiredService<IEntitlementGuard>();
            services.GetRequiredService<IUsageGovernance>().GetBudgetUsage("acme").Should().ContainSingle().Which.Used.Should().Be(9m);
            (await guard.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Subject = "search", Amount = 3m })).Status.Should().Be(ReservationStatus.BudgetExceeded);
        }
    }

    [Test]
    public void Start_ServerUnreachable_ThrowsLedgerUnavailable_NamingTheStore()
    {
        _ = PostgresServer.ConnectionString;
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero));
        using ServiceProvider services = Services(time, connectionString: "Host=127.0.0.1;Port=1;Username=postgres;Timeout=2");

        Action start = () => services.GetRequiredService<IEntitlementGuard>();

        start.Should().Throw<LedgerUnavailableException>().Which.Message.Should().Contain("PostgreSQL").And.Contain(_schema);
    }

    [Test]
    public async Task SecondWriterOnTheSameLedger_IsRefused_AndNothingOfItsBatchApplies()
    {
        await using PostgreSqlLedgerStore first = await PostgreSqlLedgerStore.CreateAsync(new PostgreSqlLedgerStoreOptions { ConnectionString = PostgresServer.ConnectionString, Schema = _schema });
        await using PostgreSqlLedgerStore second = await PostgreSqlLedgerStore.CreateAsync(new PostgreSqlLedgerStoreOptions { ConnectionString = PostgresServer.ConnectionString, Schema = _schema });
        LedgerEntry[] mine = Chain("acme", 2);
        LedgerEntry[] theirs = Chain("globex", 2);
        await first.AppendAsync(new LedgerBatch(mine, []));

        Func<Task> append = () => second.AppendAsync(new LedgerBatch(theirs, [])).AsTask();

        await append.Should().ThrowAsync<LedgerCorruptedException>();
        (await first.QueryAsync(new LedgerQuery { CustomerId = "globex" })).Should().BeEmpty();
    }

    /// <summary>A chained run of grants for one customer, from the genesis hash.</summary>
    private static LedgerEntry[] Chain(string customer, int count)
    {
        using var hasher = new LedgerEntryHasher();
        var entries = new LedgerEntry[count];
        LedgerHash previous = LedgerHash.Genesis;
        for (int i = 0; i < count; i++)
        {
            var block = new CreditBlock(Guid.NewGuid(), customer, "credits", CreditAmount.FromUnits(1_000_000, 6), DateTimeOffset.UnixEpoch, null, 0, CreditCategory.Paid, null, null, null, DateTimeOffset.UnixEpoch);
            var e = new LedgerEntry
            {
                Sequence = i + 1, Timestamp = DateTimeOffset.UnixEpoch, Kind = LedgerEntryKind.Grant, CustomerId = customer, CreditType = "credits", BlockId = block.Id, Block = block,
                Amount = block.Amount, BalanceBefore = CreditAmount.FromUnits(i * 1_000_000L, 6), BalanceAfter = CreditAmount.FromUnits((i + 1) * 1_000_000L, 6), PreviousHash = previous,
            };
            entries[i] = e with { Hash = hasher.Compute(e, previous) };
            previous = entries[i].Hash;
        }

        return entries;
    }
}
