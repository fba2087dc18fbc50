using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>Several guards (instances) in one process, each with a store of its own, on one shared schema (ManyInstances).</summary>
[TestFixture]
public sealed class ManyInstancesTests
{
    private string _schema = null!;

    [SetUp]
    public void NewSchema() => _schema = PostgresServer.NewSchema();

    [TearDown]
    public Task DropSchema() => PostgresServer.DropSchemaAsync(_schema);

    internal static ServiceProvider Instance(string schema, Action<PoolLeaseOptions>? leases = null, Action<GovernanceOptions>? governance = null, Action<CatalogOptions>? catalog = null, string? connectionString = null, Action<UsageGuardOptions>? guard = null, Action<PostgreSqlLedgerStoreOptions>? store = null)
    {
        var services = new ServiceCollection();
        IUsageGuardBuilder builder = services.AddUsageGuard(o =>
            {
                o.ReservationSweepInterval = TimeSpan.Zero;
                guard?.Invoke(o);
            })
            .UsePostgreSql(o =>
            {
                o.ConnectionString = connectionString ?? PostgresServer.ConnectionString;
                o.Schema = schema;
                o.ManyInstances = true;
                leases?.Invoke(o.Leases);
                store?.Invoke(o);
            });
        if (governance is not null)
        {
            builder.UseGovernance(governance);
        }

        if (catalog is not null)
        {
            builder.UseCatalog(catalog);
        }

        return services.BuildServiceProvider();
    }

    /// <summary>Acme with a team ("search", under "eng") whose monthly budget is <paramref name="teamBudget"/> credits.</summary>
    internal static void TeamBudget(GovernanceOptions g, decimal teamBudget) => g.Customers.Add(new CustomerGovernanceOptions
    {
        CustomerId = "acme",
        Subjects = { new SubjectOptions { Id = "eng" }, new SubjectOptions { Id = "search", Parent = "eng" }, new SubjectOptions { Id = "agent", Parent = "search" } },
        Budgets = { new BudgetOptions { Id = "search-team", Subject = "search", Limits = { new BudgetLimitOptions { Amount = teamBudget, Window = "month" } } } },
    });

    /// <summary>Acme on a plan whose metered feature "api.calls" allows <paramref name="limit"/> calls a month (hard).</summary>
    internal static void PlanLimit(CatalogOptions c, long limit)
    {
        c.Features.Add(new FeatureOptions { Id = "api.calls", Kind = FeatureKind.Metered });
        var plan = new PlanOptions { Id = "starter" };
        plan.Entitlements.Add(new EntitlementOptions { Feature = "api.calls", Limit = limit, Window = UsageWindow.Month });
        c.Plans.Add(plan);
        c.Subscriptions.Add(new SubscriptionOptions { Customer = "acme", Plan = "starter", Start = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero) });
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, string what, int seconds = 10)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting until {what}.");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Runs six workers per instance until each is refused twenty times in a row; a step spends (returns what it spent) or is refused
    /// (returns null). After a refusal a worker asks for one credit: the run ends only when not even one is left anywhere.
    /// </summary>
    internal static async Task<long> DrainAsync(ServiceProvider[] instances, int seed, Func<IEntitlementGuard, Random, decimal, Task<long?>> step)
    {
        long spent = 0;
        var workers = new List<Task>();

        // A worker stops once refused 20 times in a row and nobody was admitted for a while: a quiet instance gives back what it holds
        // unused within a few refill intervals, and a busy machine may take longer than one worker's 20 refusals to get there.
        const long QuietMs = 2_000;
        long lastAdmittedAt = Environment.TickCount64;
        foreach (ServiceProvider instance in instances)
        {
            var guard = instance.GetRequiredService<IEntitlementGuard>();
            for (int t = 0; t < 6; t++)
            {
                var random = new Random(seed * 100 + workers.Count);
                workers.Add(Task.Run(async () =>
                {
                    int refusedInARow = 0;
                    while (refusedInARow < 20 || Environment.TickCount64 - Interlocked.Read(ref lastAdmittedAt) < QuietMs)
                    {
                        decimal hold = refusedInARow > 0 ? 1 : random.Next(1, 4);
                        if (await step(guard, random, hold) is { } used)
                        {
                            refusedInARow = 0;
                            Interlocked.Exchange(ref lastAdmittedAt, Environment.TickCount64);
                            Interlocked.Add(ref spent, used);
                        }
                        else
                        {
                            refusedInARow++;
                            await Task.Delay(25);
                        }
                    }
                }));
            }
        }

        await Task.WhenAll(workers);
        return spent;
    }

    /// <summary>
    /// A <see cref="DrainAsync"/> step: one request in three consumes (counting what it held), the others reserve and then settle
    /// what <paramref name="settle"/> says (counting what it says counted); a refusal must be <paramref name="refusal"/>.
    /// </summary>
    internal static Func<IEntitlementGuard, Random, decimal, Task<long?>> MixedStep(Func<decimal, ReservationRequest> request, ReservationStatus refusal, Func<Random, decimal, (decimal Settle, long Counted)> settle) =>
        async (guard, random, hold) =>
        {
            if (random.Next(3) == 0)
            {
                ConsumeResult c = await guard.ConsumeAsync(request(hold));
                c.Status.Should().BeOneOf([ReservationStatus.Admitted, refusal], c.Reason);
                return c.IsAdmitted ? (long)hold : null;
            }

            ReservationResult r = await guard.ReserveAsync(request(hold));
            if (!r.IsAdmitted)
            {
                r.Status.Should().Be(refusal, r.Reason);
                return null;
            }

            (decimal actual, long counted) = settle(random, hold);
            await r.Reservation.SettleAsync(actual);
            return counted;
        };

    /// <summary>A customer's balance on one instance, or -1 while the instance has not heard of the customer yet.</summary>
    internal static decimal Balance(ICreditLedger ledger, string customer)
    {
        try
        {
            return ledger.GetBalance(customer).Balance.ToDecimal();
        }
        catch (UnknownCustomerException)
        {
            return -1;
        }
    }

    [Test]
    public async Task AGrowWhoseAnswerWasLost_IsSpentLater_NotStrandedInTheLease()
    {
        // Seen after a cut: a lease the store grew while its answer was lost was never added to the instance's local pool, and the
        // last credits of the wallet stayed leased and unspendable until the lease ended.
        await using ServiceProvider a = Instance(_schema);
        var guard = (EntitlementGuard)a.GetRequiredService<IEntitlementGuard>();
        var ledger = a.GetRequiredService<ICreditLedger>();
        await ledger.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 100m });
        var escrow = (LeaseEscrow)guard.Escrow!;
        escrow.Pools.LoseGrowAnswers = 1;

        (await guard.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m })).Status.Should().Be(ReservationStatus.StoreUnavailable, "the grow's outcome is unknown");
        await Task.Delay(1_100);
        long admitted = 0;
        int refusedInARow = 0;
        while (refusedInARow < 10)
        {
            ConsumeResult c = await guard.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m });
            if (c.IsAdmitted)
            {
                admitted++;
                refusedInARow = 0;
            }
            else
            {
                c.Status.Should().Be(ReservationStatus.InsufficientCredits, c.Reason);
                refusedInARow++;
                await Task.Delay(25);
            }
        }

        admitted.Should().Be(100, "what the lost grow leased is spent too");
        Balance(ledger, "acme").Should().Be(0m);
    }

    [Test]
    public async Task AnInstanceThatWentDirectWhileAnotherHeldThePool_ReturnsToLeases_OnceThePoolHasRoomAgain()
    {
        // Seen after a long outage: a burst of misses while going direct doubled the slice on every miss, past anything the pool
        // could grant, and the instance kept taking one round trip per request although the pool had room for thousands.
        await using ServiceProvider a = Instance(_schema);
        var guard = (EntitlementGuard)a.GetRequiredService<IEntitlementGuard>();
        GrantResult grant = await a.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 10_000m });
        (await guard.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m })).IsAdmitted.Should().BeTrue();
        var escrow = (LeaseEscrow)guard.Escrow!;

        // Another instance leases all but 5 credits of what is free.
        await using var source = Npgsql.NpgsqlDataSource.Create(PostgresServer.ConnectionString);
        var pools = new PoolLeases(source, _schema);
        string pool = LeaseEscrow.PoolOf(grant.Block.Id);
        long free = await pools.FreeAsync(pool);
        Guid other = Guid.NewGuid();
        (long granted, _, _) = await pools.GrowAsync(pool, other, "other", free - 5_000_000, exact: true, DateTimeOffset.UtcNow.AddMinutes(5));
        granted.Should().Be(free - 5_000_000);

        // A burst on this instance: its lease runs dry, no slice fits, it goes direct for the last 5 credits, then is refused.
        static ReservationRequest One() => new() { CustomerId = "acme", Amount = 1m };
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            var until = DateTime.UtcNow.AddSeconds(2);
            while (DateTime.UtcNow < until)
            {
                ConsumeResult c = await guard.ConsumeAsync(One());
                c.Status.Should().BeOneOf([ReservationStatus.Admitted, ReservationStatus.InsufficientCredits], c.Reason);
            }
        })));
        escrow.DirectTopUps.Should().BeGreaterThan(0, "the pool had no slice left: requests went direct");

        // The other instance gives its lease back: the pool has room for slices again.
        (await pools.ShrinkToAsync(other, 0)).Should().BeTrue();
        await Task.Delay(TimeSpan.FromSeconds(3));
        long directBefore = escrow.DirectTopUps;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < 250; i++)
            {
                (await guard.ConsumeAsync(One())).IsAdmitted.Should().BeTrue();
            }
        })));

        (escrow.DirectTopUps - directBefore).Should().BeLessThan(50, "with room in the pool again, requests are paid from a lease, not one round trip each");
    }

    [Test]
    public async Task AGrantOnOneInstance_IsSpendableOnTheOther_AndOneChainVerifies()
    {
        await using ServiceProvider a = Instance(_schema);
        await using ServiceProvider b = Instance(_schema);
        var ledgerA = a.GetRequiredService<ICreditLedger>();
        var ledgerB = b.GetRequiredService<ICreditLedger>();
        var guardB = b.GetRequiredService<IEntitlementGuard>();

        await ledgerA.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 50m });
        await WaitUntilAsync(() => Balance(ledgerB, "acme") == 50m, "instance B follows A's grant");

        ConsumeResult spent = await guardB.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 20m });
        spent.Status.Should().Be(ReservationStatus.Admitted);
        await WaitUntilAsync(() => Balance(ledgerA, "acme") == 30m, "instance A follows B's use");

        await using var store = new PostgreSqlLedgerStore(new PostgreSqlLedgerStoreOptions { ConnectionString = PostgresServer.ConnectionString, Schema = _schema });
        LedgerVerificationResult verified = await LedgerVerifier.VerifyAsync(store.ReadAsync(0));
        verified.IsValid.Should().BeTrue(verified.Problem);
        verified.EntriesChecked.Should().BeGreaterThanOrEqualTo(2);
    }

    [TestCase(1)]
    [TestCase(2)]
    public async Task ThreeInstances_ManyThreads_DrainOneWallet_ExactlyToZero(int seed)
    {
        const decimal Granted = 600m;
        ServiceProvider[] instances = [Instance(_schema), Instance(_schema), Instance(_schema)];
        try
        {
            await instances[0].GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = Granted / 2 });
            await instances[1].GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = Granted / 2 });
            foreach (ServiceProvider instance in instances)
            {
                var ledger = instance.GetRequiredService<ICreditLedger>();
                await WaitUntilAsync(() => Balance(ledger, "acme") == Granted, "every instance follows both grants");
            }

            long admitted = await DrainAsync(instances, seed, async (guard, random, hold) =>
            {
                ReservationResult r = await guard.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = hold });
                if (!r.IsAdmitted)
                {
                    r.Status.Should().Be(ReservationStatus.InsufficientCredits);
                    return null;
                }

                decimal actual = random.Next(0, (int)hold + 1);
                await r.Reservation.SettleAsync(actual);
                return (long)actual;
            });
            if (admitted != (long)Granted)
            {
                foreach (ServiceProvider instance in instances)
                {
                    var g = (EntitlementGuard)instance.GetRequiredService<IEntitlementGuard>();
                    Wallet w = g.WalletFor("acme", "credits");
                    foreach (BlockAccount bl in w.Blocks)
                    {
                        TestContext.Out.WriteLine($"{bl.Terms.Id} avail={bl.Available} held={bl.Held} used={bl.Used} rem={bl.Remaining} closed={bl.IsClosed} spendable={w.Spendable.Contains(bl)}");
                    }
                }

                await using var ds = Npgsql.NpgsqlDataSource.Create(PostgresServer.ConnectionString);
                await using var cmd = ds.CreateCommand($"SELECT pool, capacity, used, leased FROM {_schema}.ug_pools");
                await using var rd = await cmd.ExecuteReaderAsync();
                while (await rd.ReadAsync())
                {
                    TestContext.Out.WriteLine($"{rd.GetString(0)} cap={rd.GetInt64(1)} used={rd.GetInt64(2)} leased={rd.GetInt64(3)}");
                }
            }

            admitted.Should().Be((long)Granted, "every credit is spent exactly once across the instances: none oversold, none stranded");
        }
        finally
        {
            foreach (ServiceProvider instance in instances)
            {
                await instance.DisposeAsync();
            }
        }

        long leased = await PostgresServer.PoolSumAsync(_schema, "leased");
        leased.Should().Be(0, "every instance returned its leases on shutdown");
        await using ServiceProvider after = Instance(_schema);
        after.GetRequiredService<ICreditLedger>().GetBalance("acme").Balance.ToDecimal().Should().Be(0m);
        await using var store = new PostgreSqlLedgerStore(new PostgreSqlLedgerStoreOptions { ConnectionString = PostgresServer.ConnectionString, Schema = _schema });
        LedgerVerificationResult verified = await LedgerVerifier.VerifyAsync(store.ReadAsync(0));
        verified.IsValid.Should().BeTrue(verified.Problem);
    }

    [TestCase(1)]
    [TestCase(2)]
    public async Task ThreeInstances_ManyThreads_DrainOneTeamBudget_ExactlyToItsLimit(int seed)
    {
        const decimal Budget = 300m;
        ServiceProvider[] instances = [.. Enumerable.Range(0, 3).Select(_ => Instance(_schema, governance: g => TeamBudget(g, Budget)))];
        try
        {
            await instances[0].GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 100_000m });
            foreach (ServiceProvider instance in instances)
            {
                var ledger = instance.GetRequiredService<ICreditLedger>();
                await WaitUntilAsync(() => Balance(ledger, "acme") == 100_000m, "every instance follows the grant");
            }

            // A third consume, the rest reserve and settle part of what they hold.
            long spent = await DrainAsync(instances, seed, MixedStep(hold => new ReservationRequest { CustomerId = "acme", Subject = "agent", Amount = hold }, ReservationStatus.BudgetExceeded, (random, hold) =>
            {
                decimal actual = random.Next(0, (int)hold + 1);
                return (actual, (long)actual);
            }));
            if (spent != (long)Budget)
            {
                foreach (ServiceProvider instance in instances)
                {
                    var governance = instance.GetRequiredService<IUsageGovernance>();
                    BudgetUsage u = governance.GetBudgetUsage("acme", "search").Single();
                    TestContext.Out.WriteLine($"used={u.Used} held={u.Held} remaining={u.Remaining}");
                }

                await using var ds = Npgsql.NpgsqlDataSource.Create(PostgresServer.ConnectionString);
                await using var cmd = ds.CreateCommand($"SELECT p.pool, capacity, used, leased, l.instance, l.amount, l.reported FROM {_schema}.ug_pools p LEFT JOIN {_schema}.ug_leases l ON l.pool = p.pool");
                await using var rd = await cmd.ExecuteReaderAsync();
                while (await rd.ReadAsync())
                {
                    TestContext.Out.WriteLine($"{rd.GetString(0)} cap={rd.GetInt64(1)} used={rd.GetInt64(2)} leased={rd.GetInt64(3)} {(rd.IsDBNull(4) ? "" : rd.GetString(4) + " " + rd.GetInt64(5) + " " + rd.GetInt64(6))}");
                }
            }

            spent.Should().Be((long)Budget, "the team's budget is spent exactly once across the instances: nothing past it, nothing stranded");
            foreach (ServiceProvider instance in instances)
            {
                var ledger = instance.GetRequiredService<ICreditLedger>();
                await WaitUntilAsync(() => Balance(ledger, "acme") == 100_000m - Budget, "every instance follows the others' use");
                var governance = instance.GetRequiredService<IUsageGovernance>();
                await WaitUntilAsync(
                    () => governance.GetBudgetUsage("acme", "search").Single().Used == Budget,
                    "every instance reports the whole team's use");
            }
        }
        finally
        {
            foreach (ServiceProvider instance in instances)
            {
                await instance.DisposeAsync();
            }
        }

        long leased = await PostgresServer.PoolSumAsync(_schema, "leased");
        leased.Should().Be(0, "every instance returned its leases on shutdown");
        long used = await PostgresServer.PoolSumAsync(_schema, "used", "window:");
        used.Should().Be((long)(Budget * 1_000_000), "the window's pool counts exactly what was spent (credits have 6 decimal places by default)");
    }

    [TestCase(1)]
    [TestCase(2)]
    public async Task ThreeInstances_ManyThreads_DrainOnePlanLimit_ExactlyToItsLimit(int seed)
    {
        const long Limit = 300;
        ServiceProvider[] instances = [.. Enumerable.Range(0, 3).Select(_ => Instance(_schema, catalog: c => PlanLimit(c, Limit)))];
        try
        {
            // A metered reservation settles what it held (the quantity is the use), whatever credits it settles.
            long used = await DrainAsync(instances, seed, MixedStep(hold => new ReservationRequest { CustomerId = "acme", Feature = "api.calls", Quantity = (long)hold }, ReservationStatus.LimitReached, (_, hold) => (0m, (long)hold)));

            used.Should().Be(Limit, "the plan's monthly calls are admitted exactly once across the instances: none past the limit, none stranded");
            foreach (ServiceProvider instance in instances)
            {
                var guard = instance.GetRequiredService<IEntitlementGuard>();
                await WaitUntilAsync(() => guard.Check("acme", "api.calls").Used == Limit, "every instance reports every instance's calls");
                guard.Check("acme", "api.calls", 1).Status.Should().Be(EntitlementStatus.LimitReached);
            }
        }
        finally
        {
            foreach (ServiceProvider instance in instances)
            {
                await instance.DisposeAsync();
            }
        }

        long leased = await PostgresServer.PoolSumAsync(_schema, "leased");
        leased.Should().Be(0, "every instance returned its leases on shutdown");
        long pooled = await PostgresServer.PoolSumAsync(_schema, "used", "meter:");
        pooled.Should().Be(Limit, "the window's pool counts exactly the calls admitted");
    }
}
