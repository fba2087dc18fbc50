using System.Globalization;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NUnit.Framework;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>PostgreSQL unreachable mid-run: the guard fails closed, keeps every acknowledged settlement, and the ledger is whole afterwards.</summary>
[TestFixture]
public sealed class PostgreSqlOutageTests
{
    private string _schema = null!;

    private string _outboxes = null!;

    [SetUp]
    public void NewSchema()
    {
        _schema = PostgresServer.NewSchema();
        _outboxes = Path.Combine(Path.GetTempPath(), "usageguard-outbox-" + Guid.NewGuid().ToString("N"));
    }

    [TearDown]
    public async Task DropSchema()
    {
        await PostgresServer.DropSchemaAsync(_schema);
        if (Directory.Exists(_outboxes))
        {
            Directory.Delete(_outboxes, recursive: true);
        }
    }

    [Test]
    public async Task ManyInstances_ABatchWhoseCommitAnswerWasLost_IsCountedOnceByTheInstanceThatWroteIt()
    {
        await using ServiceProvider a = ManyInstancesTests.Instance(_schema, store: o => o.OutboxDirectory = _outboxes);
        var ledger = a.GetRequiredService<ICreditLedger>();
        var guard = a.GetRequiredService<IEntitlementGuard>();
        await ledger.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 100m });

        // The store commits the next batch but its answer is lost: the writer keeps the batch in its outbox and appends it again
        // about a second later (applied once: same batch id). Meanwhile this instance's follower reads the committed entries.
        ((PostgreSqlLedgerStore)a.GetRequiredService<ILedgerStore>()).LoseCommitOutcomes = 1;
        for (int i = 0; i < 10; i++)
        {
            (await guard.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m })).IsAdmitted.Should().BeTrue();
        }

        await ManyInstancesTests.WaitUntilAsync(() => guard.Health.IsHealthy && !Directory.EnumerateFiles(_outboxes, "*.batch").Any(), "the outbox is appended");
        await Task.Delay(600);

        ManyInstancesTests.Balance(ledger, "acme").Should().Be(90m, "the entries of the batch in doubt are this instance's, not another's to apply again");
        Convert.ToInt64(await PostgresServer.ScalarAsync($"SELECT count(*) FROM {_schema}.ug_entries WHERE kind = {(int)LedgerEntryKind.Settle};"), CultureInfo.InvariantCulture).Should().Be(10);
        await using ServiceProvider restarted = ManyInstancesTests.Instance(_schema);
        ManyInstancesTests.Balance(restarted.GetRequiredService<ICreditLedger>(), "acme").Should().Be(90m);
    }

    [Test]
    public async Task ManyInstances_ADamagedOutboxFile_RefusesTheStart_NamingTheFile_AndKeepsIt()
    {
        var outbox = new LedgerOutbox(_outboxes);
        string path = outbox.Spill(Guid.NewGuid(), [new LedgerEntry { Kind = LedgerEntryKind.Grant, CustomerId = "acme", CreditType = "credits", Amount = CreditAmount.FromUnits(1, 0), Timestamp = DateTimeOffset.UnixEpoch }], []).Path;
        byte[] bytes = await File.ReadAllBytesAsync(path);
        bytes[^2] ^= 0x20;
        await File.WriteAllBytesAsync(path, bytes);

        await using ServiceProvider instance = ManyInstancesTests.Instance(_schema, store: o => o.OutboxDirectory = _outboxes);
        Action start = () => instance.GetRequiredService<ICreditLedger>();

        start.Should().Throw<LedgerCorruptedException>().Which.Message.Should().Contain(path);
        File.Exists(path).Should().BeTrue("the file holds acknowledged usage: it is kept for whoever reconciles it");
    }

    [Test]
    public async Task ManyInstances_KilledDuringAnOutage_ItsOutboxIsAppendedAtTheNextStart_AndNothingAcknowledgedIsLost()
    {
        var direct = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString);
        await using var proxy = new CuttableProxy(direct.Host!, direct.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 2, CommandTimeout = 5 };
        await using (ServiceProvider seed = ManyInstancesTests.Instance(_schema))
        {
            await seed.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 1_000m });
        }

        long acked;
        using (InstanceProcess victim = InstanceProcess.Start("outbox", viaProxy.ConnectionString, _schema, "1", "30", _outboxes))
        {
            // Cut once the instance's lease is sized to its rate (its first slice is small).
            await victim.WaitForAsync("acked 100", TimeSpan.FromMinutes(1));
            proxy.Cut();
            long atCut = long.Parse(victim.Latest("acked")!, CultureInfo.InvariantCulture);

            // Durable consumes go on being acknowledged from the lease: each is flushed to the outbox first.
            try
            {
                await ManyInstancesTests.WaitUntilAsync(() => long.Parse(victim.Latest("acked")!, CultureInfo.InvariantCulture) > atCut + 1 && Directory.GetFiles(_outboxes, "*.batch").Length > 0, "the instance acknowledges durable consumes while the store is unreachable");
            }
            catch (AssertionException ex)
            {
                throw new AssertionException($"{ex.Message} Acknowledged at the cut: {atCut}. The instance printed: {victim.Tail(10)}", ex);
            }
            victim.Kill();
            acked = long.Parse(victim.Latest("acked")!, CultureInfo.InvariantCulture);
        }

        Directory.GetFiles(_outboxes, "*.batch").Should().NotBeEmpty("the killed instance's acknowledged usage waits in its outbox");

        // The instance comes back (the store is reachable again): its outbox is appended before it reads the ledger.
        await using ServiceProvider restarted = ManyInstancesTests.Instance(_schema, store: o => o.OutboxDirectory = _outboxes);
        var ledger = restarted.GetRequiredService<ICreditLedger>();
        Directory.GetFiles(_outboxes, "*.batch").Should().BeEmpty();
        long settled = Convert.ToInt64(await PostgresServer.ScalarAsync($"SELECT coalesce(-sum(amount), 0) / 1000000 FROM {_schema}.ug_entries WHERE kind = {(int)LedgerEntryKind.Settle};"), CultureInfo.InvariantCulture);
        settled.Should().BeInRange(acked, acked + 1, "every acknowledged consume is in the ledger once (one more may have been spilled as the process was killed)");
        ledger.GetBalance("acme").Balance.ToDecimal().Should().Be(1_000m - settled);
        LedgerVerificationResult verified = await ledger.VerifyAsync();
        verified.IsValid.Should().BeTrue(verified.Problem);
    }

    private ServiceProvider Services(string connectionString)
    {
        var services = new ServiceCollection();
        services.AddUsageGuard(o => o.ReservationSweepInterval = TimeSpan.Zero).UsePostgreSql(o =>
        {
            o.ConnectionString = connectionString;
            o.Schema = _schema;
        });
        return services.BuildServiceProvider();
    }

    [TestCase(1)]
    [TestCase(30)]
    public async Task ServerUnreachableForSeconds_FailsClosed_AndLosesNoAcknowledgedSettlement(int seconds)
    {
        var direct = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString);
        await using var proxy = new CuttableProxy(direct.Host!, direct.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 2, CommandTimeout = 5 };
        long acknowledged = 0;
        long refusedWhileDown = 0;
        await using (ServiceProvider services = Services(viaProxy.ConnectionString))
        {
            var ledger = services.GetRequiredService<ICreditLedger>();
            var guard = services.GetRequiredService<IEntitlementGuard>();
            await ledger.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 1_000_000m });
            using var running = new CancellationTokenSource();
            var pending = new List<Task>();
            Task[] clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                while (!running.IsCancellationRequested)
                {
                    ReservationResult r = await guard.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m });
                    if (!r.IsAdmitted)
                    {
                        r.Status.Should().Be(ReservationStatus.StoreUnavailable);
                        Interlocked.Increment(ref refusedWhileDown);
                        await Task.Delay(20);
                        continue;
                    }

                    Task settle = r.Reservation.SettleAsync(1m).AsTask().ContinueWith(t => { if (t.IsCompletedSuccessfully) { Interlocked.Increment(ref acknowledged); } }, TaskScheduler.Default);
                    lock (pending)
                    {
                        pending.Add(settle);
                    }

                    await Task.Delay(2);
                }
            })).ToArray();

            await Task.Delay(500);
            proxy.Cut();
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            proxy.Restore();
            await Task.Delay(1_500);
            await running.CancelAsync();
            await Task.WhenAll(clients);
            Task[] all;
            lock (pending)
            {
                all = [.. pending];
            }

            await Task.WhenAll(all).WaitAsync(TimeSpan.FromSeconds(60));
            guard.Health.IsHealthy.Should().BeTrue("the store came back and the writer caught up");
        }

        Interlocked.Read(ref refusedWhileDown).Should().BeGreaterThan(0, "while the store is down the guard fails closed");
        Interlocked.Read(ref acknowledged).Should().BeGreaterThan(0);

        // Started again straight on the server: every acknowledged settlement is there, once, and the chain verifies.
        await using ServiceProvider again = Services(PostgresServer.ConnectionString);
        var restarted = again.GetRequiredService<ICreditLedger>();
        restarted.GetBalance("acme").Balance.ToDecimal().Should().Be(1_000_000m - acknowledged);
        long settles = (long)(await PostgresServer.ScalarAsync($"SELECT count(*) FROM {_schema}.ug_entries WHERE kind = {(int)LedgerEntryKind.Settle};"))!;
        settles.Should().Be(acknowledged);
        LedgerVerificationResult verified = await restarted.VerifyAsync();
        verified.IsValid.Should().BeTrue(verified.Problem);
    }

    [TestCase(1, false, 0)]
    [TestCase(1, true, 0)]
    [TestCase(30, false, 0)]
    [TestCase(30, true, 0)]
    [TestCase(30, true, 20)]
    public async Task ManyInstances_StoreUnreachableForSeconds_SpendOnlyWhatTheirLeasesHoldAndTheAllowance_AndLoseNothing(int seconds, bool outbox, int allowance)
    {
        const decimal Granted = 10_000m;
        var leaseTtl = TimeSpan.FromSeconds(3);
        var direct = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString);
        await using var proxy = new CuttableProxy(direct.Host!, direct.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 2, CommandTimeout = 5 };
        ServiceProvider[] instances = [.. Enumerable.Range(0, 2).Select(_ => ManyInstancesTests.Instance(
            _schema,
            leases: l =>
            {
                l.LeaseTtl = leaseTtl;
                l.SweepGrace = TimeSpan.FromSeconds(1);
            },
            catalog: allowance > 0 ? c => ChatCatalog(c, allowance) : null,
            connectionString: viaProxy.ConnectionString,
            store: o =>
            {
                o.StallTimeout = TimeSpan.FromSeconds(5);
                o.OutboxDirectory = outbox ? Path.Combine(_outboxes, Guid.NewGuid().ToString("N")) : null;
            }))];
        string? feature = allowance > 0 ? "chat" : null;
        long admitted = 0;
        long admittedWhileCut = 0;
        long admittedWhileUnhealthy = 0;
        long refusedWhileCut = 0;
        long cutAtTicks = long.MaxValue;
        long lastAdmittedWhileCutTicks = 0;
        int spilledWhileCut = 0;

        // A worker stops once refused 20 times in a row and nobody was admitted for a while: a quiet instance gives back what it holds
        // unused within a few refill intervals, and a busy machine may take longer than one worker's 20 refusals to get there.
        const long QuietMs = 2_000;
        long lastAdmittedAt = Environment.TickCount64;
        try
        {
            await instances[0].GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = Granted });
            var ledgerB = instances[1].GetRequiredService<ICreditLedger>();
            await ManyInstancesTests.WaitUntilAsync(() => ManyInstancesTests.Balance(ledgerB, "acme") == Granted, "B follows the grant");
            var cut = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Task[] workers = [.. Enumerable.Range(0, 12).Select(w => Task.Run(async () =>
            {
                var guard = instances[w % 2].GetRequiredService<IEntitlementGuard>();
                int refusedInARow = 0;
                while (refusedInARow < 20 || Environment.TickCount64 - Interlocked.Read(ref lastAdmittedAt) < QuietMs)
                {
                    // Written behind: acknowledged at once, committed when the store can take it (a durable one would wait for the store).
                    ConsumeResult c = await guard.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Feature = feature, Amount = 1m, Durability = Durability.WriteBehind });
                    bool isCut = proxy.IsCut;
                    if (c.IsAdmitted)
                    {
                        refusedInARow = 0;
                        Interlocked.Exchange(ref lastAdmittedAt, Environment.TickCount64);
                        Interlocked.Increment(ref admitted);
                        if (!guard.Health.IsHealthy)
                        {
                            Interlocked.Increment(ref admittedWhileUnhealthy);
                        }

                        if (isCut)
                        {
                            Interlocked.Increment(ref admittedWhileCut);
                            InterlockedMax(ref lastAdmittedWhileCutTicks, DateTime.UtcNow.Ticks);
                        }
                    }
                    else if (isCut)
                    {
                        c.Status.Should().Be(ReservationStatus.StoreUnavailable, c.Reason);
                        Interlocked.Increment(ref refusedWhileCut);
                    }
                    else if (!cut.Task.IsCompleted || c.Status != ReservationStatus.StoreUnavailable)
                    {
                        // Refused with the store up: the wallet is empty (or, just after the cut, the store was still catching up).
                        c.Status.Should().BeOneOf([ReservationStatus.InsufficientCredits, ReservationStatus.StoreUnavailable], c.Reason);
                        refusedInARow += c.Status == ReservationStatus.InsufficientCredits ? 1 : 0;
                    }

                    // As DrainAsync: after a refusal, long enough for a quiet instance to give back what it holds unused.
                    await Task.Delay(refusedInARow > 0 ? 25 : 10);
                }
            }))];

            // Cut once both instances spend from leases (their first leases and connections take a moment on a busy machine).
            await ManyInstancesTests.WaitUntilAsync(() => Interlocked.Read(ref admitted) >= 500, "the instances admit from their leases", seconds: 30);
            Interlocked.Exchange(ref cutAtTicks, DateTime.UtcNow.Ticks);
            proxy.Cut();
            cut.SetResult();
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            spilledWhileCut = Directory.Exists(_outboxes) ? Directory.GetFiles(_outboxes, "*.batch", SearchOption.AllDirectories).Length : 0;
            proxy.Restore();
            // Generous: before slices stopped doubling while direct, the drain after a long cut took up to 2 minutes (docs/scale-out.md).
            await Task.WhenAll(workers).WaitAsync(TimeSpan.FromMinutes(4));
        }
        finally
        {
            foreach (ServiceProvider instance in instances)
            {
                await instance.DisposeAsync();
            }
        }

        // Straight on the server: every admitted consumption is in the ledger, once: paid by the blocks, or (the allowance) as debt.
        long settled = Convert.ToInt64(await PostgresServer.ScalarAsync($"SELECT -sum(amount) FROM {_schema}.ug_entries WHERE kind = {(int)LedgerEntryKind.Settle};"), CultureInfo.InvariantCulture);
        long debt = Convert.ToInt64(await PostgresServer.ScalarAsync($"SELECT coalesce(-sum(amount), 0) FROM {_schema}.ug_entries WHERE kind = {(int)LedgerEntryKind.Overdraft};"), CultureInfo.InvariantCulture);
        debt.Should().BeInRange(0, 2L * allowance * 1_000_000, "beyond the blocks, at most each instance's allowance (0 by default)");
        (admitted * 1_000_000).Should().Be(settled + debt, "each admitted consumption is in the ledger once");
        if (debt == 0)
        {
            settled.Should().Be((long)(Granted * 1_000_000), "every credit is spent exactly once across the outage: none twice, none lost or stranded");
        }
        else
        {
            // A consumption the lease paid in part and the allowance for the rest leaves a fraction of a credit no 1-credit request fits.
            settled.Should().BeInRange((long)(Granted * 1_000_000) - 999_999, (long)(Granted * 1_000_000), "none oversold, none stranded but a fraction");
        }
        admittedWhileCut.Should().BeGreaterThan(0, "while the store is down each instance spends what its leases hold");
        admittedWhileUnhealthy.Should().BeGreaterThan(50, "an instance whose writer knows the store is down still admits what its leases hold (fail closed would admit none)");
        if (seconds > leaseTtl.TotalSeconds + 1)
        {
            refusedWhileCut.Should().BeGreaterThan(0, "once the leases may have expired, the instances fail closed");
            TimeSpan.FromTicks(lastAdmittedWhileCutTicks - cutAtTicks).Should().BeLessThan(leaseTtl + TimeSpan.FromSeconds(1), "nothing is admitted past the leases' expiry");
        }

        if (outbox)
        {
            spilledWhileCut.Should().BeGreaterThan(0, "what the instances acknowledged while the store was unreachable waited in their outboxes");
            Directory.GetFiles(_outboxes, "*.batch", SearchOption.AllDirectories).Should().BeEmpty("every spilled batch was appended once the store was back");
        }

        // Started again: the balance is what the ledger says (the debt, if any), and the chain verifies.
        await using ServiceProvider again = ManyInstancesTests.Instance(_schema);
        var restarted = again.GetRequiredService<ICreditLedger>();
        restarted.GetBalance("acme").Balance.Units.Should().Be((long)(Granted * 1_000_000) - settled - debt);
        LedgerVerificationResult verified = await restarted.VerifyAsync();
        verified.IsValid.Should().BeTrue(verified.Problem);
    }

    [Test]
    public async Task ManyInstances_WithAnOfflineAllowance_AdmitBeyondTheirLeasesUpToIt_OncePerOutage_AsDebtEveryInstanceSees()
    {
        const long Allowance = 20;
        const decimal Granted = 200m;
        var direct = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString);
        await using var proxy = new CuttableProxy(direct.Host!, direct.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 2, CommandTimeout = 5 };
        ServiceProvider[] instances = [.. Enumerable.Range(0, 2).Select(_ => ManyInstancesTests.Instance(
            _schema,
            catalog: c => ChatCatalog(c, Allowance),
            connectionString: viaProxy.ConnectionString,

            // Whole credits: leases hold whole credits, so a request of one is paid by a lease or by the allowance, never split.
            guard: WholeCredits,
            store: o => o.StallTimeout = TimeSpan.FromSeconds(5)))];
        static ReservationRequest Request(string feature, decimal amount) =>
            new() { CustomerId = "acme", Feature = feature, Amount = amount, Durability = Durability.WriteBehind };
        try
        {
            IEntitlementGuard a = instances[0].GetRequiredService<IEntitlementGuard>();
            IEntitlementGuard b = instances[1].GetRequiredService<IEntitlementGuard>();
            var ledgerA = instances[0].GetRequiredService<ICreditLedger>();
            var ledgerB = instances[1].GetRequiredService<ICreditLedger>();
            await ledgerA.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = Granted });
            await ManyInstancesTests.WaitUntilAsync(() => ManyInstancesTests.Balance(ledgerB, "acme") == Granted, "B follows the grant");
            for (int i = 0; i < 10; i++)
            {
                (await a.ConsumeAsync(Request("chat", 1m))).IsAdmitted.Should().BeTrue();
                (await b.ConsumeAsync(Request("chat", 1m))).IsAdmitted.Should().BeTrue();
            }

            proxy.Cut();

            // A lease grown just before the cut may land just after it: let what was in flight settle, so "dry" stays dry.
            await Task.Delay(1_000);

            // B: a feature without an allowance spends the lease and then fails closed; the one with an allowance admits that much more.
            long fromLease = 0;
            while (true)
            {
                ConsumeResult c = await b.ConsumeAsync(Request("plain", 1m));
                if (!c.IsAdmitted)
                {
                    c.Status.Should().Be(ReservationStatus.StoreUnavailable, c.Reason);
                    break;
                }

                c.Settlement.Overdrawn.ToDecimal().Should().Be(0m, "paid from the lease");
                (++fromLease).Should().BeLessThan((long)Granted);
            }

            long[] byThread = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => ConsumeOfflineUntilRefusedAsync(b, Request("chat", 1m)))));
            byThread.Sum().Should().Be(Allowance, "B admits its allowance beyond its lease, no more, however many threads race for it");

            // A: reservations hold the allowance too, all or nothing, and give back what they do not use.
            ConsumeResult first;
            do
            {
                first = await a.ConsumeAsync(Request("chat", 1m));
                first.IsAdmitted.Should().BeTrue(first.Reason);
            }
            while (first.Settlement.Overdrawn.ToDecimal() == 0m);

            ReservationResult held = await a.ReserveAsync(Request("chat", Allowance - 1));
            held.IsAdmitted.Should().BeTrue(held.Reason);
            (await a.ReserveAsync(Request("chat", 1m))).Status.Should().Be(ReservationStatus.StoreUnavailable, "the rest of the allowance is held");
            (await a.ReserveAsync(Request("chat", Allowance))).Status.Should().Be(ReservationStatus.StoreUnavailable, "all or nothing");
            await held.Reservation.ReleaseAsync();
            held = await a.ReserveAsync(Request("chat", Allowance - 1));
            held.IsAdmitted.Should().BeTrue("a released hold gives its allowance back");
            SettlementResult settled = await held.Reservation.SettleAsync(1m);
            settled.Overdrawn.ToDecimal().Should().Be(1m);
            settled.Released.ToDecimal().Should().Be(Allowance - 2);
            (await ConsumeOfflineUntilRefusedAsync(a, Request("chat", 1m))).Should().Be(Allowance - 2, "what the settlement did not use went back to the allowance");

            // The store returns: the rest of the wallet is spent from leases, and every instance sees both instances' debt.
            proxy.Restore();
            await ManyInstancesTests.WaitUntilAsync(() => a.Health.IsHealthy && b.Health.IsHealthy, "the writers reach the store again", seconds: 60);
            await SpendTheRestAsync(a, b, Request("chat", 1m));
            try
            {
                await ManyInstancesTests.WaitUntilAsync(
                    () => ManyInstancesTests.Balance(ledgerA, "acme") == -2 * Allowance && ManyInstancesTests.Balance(ledgerB, "acme") == -2 * Allowance,
                    "both instances show the wallet owing both allowances",
                    seconds: 30);
            }
            catch (AssertionException ex)
            {
                throw new AssertionException($"{ex.Message} A: {ManyInstancesTests.Balance(ledgerA, "acme")} (available {ledgerA.GetBalance("acme").Available}), B: {ManyInstancesTests.Balance(ledgerB, "acme")} (available {ledgerB.GetBalance("acme").Available}); settled {await PostgresServer.ScalarAsync($"SELECT -sum(amount) FROM {_schema}.ug_entries WHERE kind = {(int)LedgerEntryKind.Settle};")}, debt {await PostgresServer.ScalarAsync($"SELECT -sum(amount) FROM {_schema}.ug_entries WHERE kind = {(int)LedgerEntryKind.Overdraft};")}, pools {await PostgresServer.ScalarAsync($"SELECT string_agg(pool || ' cap=' || capacity || ' used=' || used || ' leased=' || leased, '; ') FROM {_schema}.ug_pools;")}", ex);
            }

            // A second outage, with credits granted on B that A holds no lease on: A's allowance is whole again.
            await ledgerB.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = Granted });
            await ManyInstancesTests.WaitUntilAsync(() => ManyInstancesTests.Balance(ledgerA, "acme") == Granted - (2 * Allowance), "A follows the grant", seconds: 30);
            proxy.Cut();
            (await ConsumeOfflineUntilRefusedAsync(a, Request("chat", 1m))).Should().Be(Allowance);
            proxy.Restore();
            await ManyInstancesTests.WaitUntilAsync(() => a.Health.IsHealthy && b.Health.IsHealthy, "the writers reach the store again", seconds: 60);
            await SpendTheRestAsync(a, b, Request("chat", 1m));
        }
        finally
        {
            proxy.Restore();
            foreach (ServiceProvider instance in instances)
            {
                await instance.DisposeAsync();
            }
        }

        long settledUnits = Convert.ToInt64(await PostgresServer.ScalarAsync($"SELECT -sum(amount) FROM {_schema}.ug_entries WHERE kind = {(int)LedgerEntryKind.Settle};"), CultureInfo.InvariantCulture);
        long debtUnits = Convert.ToInt64(await PostgresServer.ScalarAsync($"SELECT -sum(amount) FROM {_schema}.ug_entries WHERE kind = {(int)LedgerEntryKind.Overdraft};"), CultureInfo.InvariantCulture);
        settledUnits.Should().Be(2 * (long)Granted, "the blocks paid exactly what was granted: none oversold");
        debtUnits.Should().Be(3 * Allowance, "beyond that, exactly one allowance per instance and outage, recorded as debt");
        await using ServiceProvider again = ManyInstancesTests.Instance(_schema, guard: WholeCredits);
        var restarted = again.GetRequiredService<ICreditLedger>();
        ManyInstancesTests.Balance(restarted, "acme").Should().Be(-3 * Allowance);
        LedgerVerificationResult verified = await restarted.VerifyAsync();
        verified.IsValid.Should().BeTrue(verified.Problem);
    }

    /// <summary>Acme on a plan with the feature "chat", priced in credits, whose offline allowance is <paramref name="allowance"/>.</summary>
    private static void ChatCatalog(CatalogOptions c, decimal allowance)
    {
        c.Features.Add(new FeatureOptions { Id = "chat", CreditType = "credits", OfflineAllowance = allowance });
        c.Features.Add(new FeatureOptions { Id = "plain" });
        var plan = new PlanOptions { Id = "pro" };
        plan.Entitlements.Add(new EntitlementOptions { Feature = "chat" });
        plan.Entitlements.Add(new EntitlementOptions { Feature = "plain" });
        c.Plans.Add(plan);
        c.Subscriptions.Add(new SubscriptionOptions { Customer = "acme", Plan = "pro", Start = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero) });
    }

    private static void WholeCredits(UsageGuardOptions options) => options.CreditTypes.Add(new CreditTypeOptions { Code = "credits", Scale = 0 });

    /// <summary>Consumes while admitted (each as debt: the leases are dry); returns how many were admitted before a refusal for the store.</summary>
    private static async Task<long> ConsumeOfflineUntilRefusedAsync(IEntitlementGuard guard, ReservationRequest request)
    {
        for (long admitted = 0; ; admitted++)
        {
            ConsumeResult c = await guard.ConsumeAsync(request);
            if (!c.IsAdmitted)
            {
                c.Status.Should().Be(ReservationStatus.StoreUnavailable, c.Reason);
                return admitted;
            }

            c.Settlement.Overdrawn.Should().Be(c.Settlement.Actual, "admitted beyond the leases: all of it is debt");
            admitted.Should().BeLessThan(1_000, "the allowance bounds what is admitted");
        }
    }

    /// <summary>With the store up, consumes on both instances until the wallet refuses for want of credits.</summary>
    private static async Task SpendTheRestAsync(IEntitlementGuard a, IEntitlementGuard b, ReservationRequest request)
    {
        int refusedInARow = 0;
        for (int i = 0; refusedInARow < 40; i++)
        {
            ConsumeResult c = await (i % 2 == 0 ? a : b).ConsumeAsync(request);
            if (c.IsAdmitted)
            {
                c.Settlement.Overdrawn.ToDecimal().Should().Be(0m, "the store is up: no allowance");
                refusedInARow = 0;
            }
            else
            {
                c.Status.Should().BeOneOf([ReservationStatus.InsufficientCredits, ReservationStatus.StoreUnavailable], c.Reason);
                refusedInARow += c.Status == ReservationStatus.InsufficientCredits ? 1 : 0;
                await Task.Delay(25);
            }
        }
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long seen = Interlocked.Read(ref target);
        while (value > seen)
        {
            long now = Interlocked.CompareExchange(ref target, value, seen);
            if (now == seen)
            {
                return;
            }

            seen = now;
        }
    }
}
