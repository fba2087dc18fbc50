using System.Collections.Concurrent;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests.Enforcement;

/// <summary>Each test here failed before the fix it names.</summary>
[TestFixture]
public sealed class EdgeCaseTests
{
    [TestCase(1)]
    [TestCase(2)]
    public async Task OverdraftSettlementsRacingGrants_KeepTheLedgerVerifiable(int seed)
    {
        // The overdraft entry used to be queued after the wallet lock was released, so a grant paying that debt could
        // precede it in the ledger, and verification (and the next start-up) failed.
        await using var h = await GuardHarness.StartAsync(o => o.SettlementDurability = Durability.WriteBehind);
        await h.GrantAsync("acme", 50);
        using var start = new Barrier(4);
        var settlers = Enumerable.Range(0, 3).Select(w => Task.Factory.StartNew(() =>
        {
            var random = new Random(seed * 10 + w);
            start.SignalAndWait();
            for (int i = 0; i < 5000; i++)
            {
                var r = h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1, OverrunPolicy = SettlementPolicy.Overdraft }).AsTask().Result;
                if (r.IsAdmitted)
                {
                    r.Reservation.SettleAsync(random.Next(1, 6)).AsTask().Wait();
                }
            }
        }, TaskCreationOptions.LongRunning));
        var granter = Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < 4000; i++)
            {
                h.Ledger.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 1, Durability = Durability.WriteBehind }).AsTask().Wait();
            }
        }, TaskCreationOptions.LongRunning);
        await Task.WhenAll(settlers.Append(granter));

        (await h.Ledger.VerifyAsync()).IsValid.Should().BeTrue();
        var live = h.Ledger.GetBalance("acme");
        await h.RestartAsync();
        h.Ledger.GetBalance("acme").Balance.Should().Be(live.Balance);
        h.Ledger.GetBalance("acme").Owed.Should().Be(live.Owed);
    }

    [Test]
    public async Task Restart_AfterAHeldBlockExpired_RemovesWhatTheLostHoldHad()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 100, expiresAt: h.Time.GetUtcNow().AddHours(1));
        await h.ReserveAsync("acme", 30, ttl: TimeSpan.FromHours(3));
        h.Time.Advance(TimeSpan.FromHours(2));
        h.Balance("acme").Should().Be(30);

        await h.RestartAsync();

        h.Balance("acme").Should().Be(0, "holds do not survive a restart, and the block is expired");
        h.Ledger.GetBalance("acme").Blocks[0].Expired.ToDecimal().Should().Be(100);
        (await h.Ledger.VerifyAsync()).IsValid.Should().BeTrue();
    }

    [Test]
    public async Task KeyedGrant_WhoseCallerStopsWaiting_StillPublishesItsOutcomeToRetries()
    {
        var store = new GatedStore();
        await using var guard = await EntitlementGuard.StartAsync(new UsageGuardOptions { ReservationSweepInterval = TimeSpan.Zero }, store, TimeProvider.System, NullLogger.Instance);
        store.Gate.Reset();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var grant = new CreditGrant { CustomerId = "acme", Amount = 10, IdempotencyKey = "topup-1" };

        Func<Task> first = () => guard.GrantAsync(grant, cancel.Token).AsTask();
        await first.Should().ThrowAsync<OperationCanceledException>();
        store.Gate.Set();

        var retry = await guard.GrantAsync(grant).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        retry.Replayed.Should().BeTrue();
        guard.GetBalance("acme").Balance.ToDecimal().Should().Be(10);
    }

    [Test]
    public void ServiceProvider_DisposedSynchronously_AfterUse_StopsTheGuard()
    {
        var store = new InMemoryLedgerStore();
        var services = new ServiceCollection();
        services.AddSingleton<ILedgerStore>(store);
        services.AddUsageGuard();
        using (ServiceProvider provider = services.BuildServiceProvider())
        {
            provider.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 1, Durability = Durability.WriteBehind }).AsTask().Wait();
            provider.GetRequiredService<IEntitlementGuard>();
        }

        store.Count.Should().Be(1);
    }

    [Test]
    public async Task ReservationReplayedAfterRestart_IsValidButRefusesSettlement()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 100);
        var request = new ReservationRequest { CustomerId = "acme", Amount = 5, IdempotencyKey = "r-1" };
        var first = await h.Gate.ReserveAsync(request);
        await h.RestartAsync();

        var replay = await h.Gate.ReserveAsync(request);

        replay.Replayed.Should().BeTrue();
        replay.Reservation.IsValid.Should().BeTrue();
        replay.Reservation.Id.Should().Be(first.Reservation.Id);
        Func<Task> settle = () => replay.Reservation.SettleAsync(5).AsTask();
        await settle.Should().ThrowAsync<ReservationStateException>();
        h.Balance("acme").Should().Be(100, "the hold did not survive the restart");
    }

    [Test]
    public async Task GrantAlreadyExpired_DoesNotPayDebt()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 1);
        await (await h.ReserveAsync("acme", 1, policy: SettlementPolicy.Overdraft)).Reservation.SettleAsync(6);
        DateTimeOffset now = h.Time.GetUtcNow();

        var late = await h.GrantAsync("acme", 10, effectiveAt: now.AddDays(-2), expiresAt: now.AddDays(-1));

        late.PaidToDebt.IsZero.Should().BeTrue();
        h.Ledger.GetBalance("acme").Owed.ToDecimal().Should().Be(5);
        h.Balance("acme").Should().Be(-5);
    }

    [Test]
    public async Task Grant_UndefinedDurability_IsRejected()
    {
        await using var h = await GuardHarness.StartAsync();
        Func<Task> grant = () => h.Ledger.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 1, Durability = (Durability)9 }).AsTask();
        (await grant.Should().ThrowAsync<ArgumentOutOfRangeException>()).Which.ParamName.Should().Be("Durability");
    }

    [Test]
    public async Task Debit_ReleasesHoldsPastTheirTtlFirst()
    {
        await using var h = await GuardHarness.StartAsync(o => o.ReservationSweepInterval = TimeSpan.Zero);
        await h.GrantAsync("acme", 10);
        await h.ReserveAsync("acme", 10, ttl: TimeSpan.FromMinutes(1));
        h.Time.Advance(TimeSpan.FromMinutes(2));

        var debit = await h.Ledger.AdjustAsync(new CreditAdjustment { CustomerId = "acme", Amount = -5, Reason = "late usage" });

        debit.Total.ToDecimal().Should().Be(-5);
    }

    [Test]
    public async Task OverrunUnderCap_ReleasesHoldsPastTheirTtlFirst()
    {
        await using var h = await GuardHarness.StartAsync(o => o.ReservationSweepInterval = TimeSpan.Zero);
        await h.GrantAsync("acme", 10);
        var live = await h.ReserveAsync("acme", 2, policy: SettlementPolicy.Cap, ttl: TimeSpan.FromHours(1));
        await h.ReserveAsync("acme", 8, ttl: TimeSpan.FromMinutes(1));
        h.Time.Advance(TimeSpan.FromMinutes(2));

        var settled = await live.Reservation.SettleAsync(6);

        settled.Charged.ToDecimal().Should().Be(6);
        settled.Waived.IsZero.Should().BeTrue();
    }

    [Test]
    public async Task DurableSettlement_CompletesOnlyAfterItsBatchIsCommitted_WriteBehindAtOnce()
    {
        var store = new GatedStore();
        await using var guard = await EntitlementGuard.StartAsync(new UsageGuardOptions { ReservationSweepInterval = TimeSpan.Zero }, store, TimeProvider.System, NullLogger.Instance);
        await guard.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 10 });
        store.Gate.Reset();

        var durable = (await guard.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 2 })).Reservation.SettleAsync(2).AsTask();
        var writeBehind = (await guard.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 3, Durability = Durability.WriteBehind })).Reservation.SettleAsync(3).AsTask();

        writeBehind.IsCompletedSuccessfully.Should().BeTrue("write-behind acknowledges at once");
        await Task.Delay(200);
        durable.IsCompleted.Should().BeFalse("the store has not committed the batch yet");
        store.Gate.Set();
        (await durable.WaitAsync(TimeSpan.FromSeconds(10))).Charged.ToDecimal().Should().Be(2);
        (await store.QueryAsync(new LedgerQuery { CustomerId = "acme" })).Should().Contain(e => e.Kind == LedgerEntryKind.Settle && e.Amount.Units == -2_000_000, "acknowledged means committed");
        await guard.FlushAsync();
        (await store.QueryAsync(new LedgerQuery { CustomerId = "acme" })).Count(e => e.Kind == LedgerEntryKind.Settle).Should().Be(2);
    }

    [Test]
    public async Task DurableCallThatWritesNothing_OnASecondGuard_DoesNotWaitForTheFirstGuardsQueue()
    {
        // A durable call waits for the queue position of this thread's last write; that position belongs to one guard.
        await using var busy = await GuardHarness.StartAsync(o => o.SettlementDurability = Durability.WriteBehind);
        await using var quiet = await GuardHarness.StartAsync();
        await busy.GrantAsync("acme", 1_000);
        await quiet.GrantAsync("acme", 10);
        ReservationResult held = await quiet.ReserveAsync("acme", 1);
        Task<SettlementResult> free = Task.Run(async () =>
        {
            for (int i = 0; i < 200; i++)
            {
                await (await busy.ReserveAsync("acme", 1)).Reservation.SettleAsync(1);
            }

            return await held.Reservation.SettleAsync(0);
        });

        (await free.WaitAsync(TimeSpan.FromSeconds(10))).Charged.ToDecimal().Should().Be(0);
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task DurableCalls_FromManyThreads_NeverCompleteBeforeTheirEntriesAreCommitted(int seed)
    {
        // Durable calls wait on one shared completion per commit and a queue position, not on a completion of their own: a
        // call must still never see its wait end before the batch holding its entries was appended.
        var store = new RecordingStore(seed);
        await using var guard = await EntitlementGuard.StartAsync(new UsageGuardOptions { ReservationSweepInterval = TimeSpan.Zero }, store, TimeProvider.System, NullLogger.Instance);
        await guard.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 1_000_000 });
        int early = 0;
        var callers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < 300; i++)
            {
                ReservationResult r = await guard.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1 });
                SettlementResult settled = await r.Reservation.SettleAsync(1);
                if (!store.Committed.ContainsKey(settled.ReservationId))
                {
                    Interlocked.Increment(ref early);
                }
            }
        })).ToArray();

        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(60));

        early.Should().Be(0);
        store.Committed.Should().HaveCount(2400);
    }

    [Test]
    public async Task Consume_WhileTtlReclaimRunsAndTheClockJumps_NeverLeaksOrSharesAHold()
    {
        // A consumption used to publish its reservation before settling it, so a reclaim running on another thread
        // after a clock jump could release and recycle it in between: holds leaked and two reservations shared a state.
        await using var h = await GuardHarness.StartAsync(o => o.SettlementDurability = Durability.WriteBehind);
        await h.GrantAsync("acme", 1_000_000);
        using var stop = new CancellationTokenSource();
        var reclaimer = Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                h.Time.Advance(TimeSpan.FromMilliseconds(2));
                h.Guard.SweepReservations();
            }
        }, TaskCreationOptions.LongRunning);
        long charged = 0;
        var consumers = Enumerable.Range(0, 2).Select(_ => Task.Factory.StartNew(() =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                var r = h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 1, Ttl = TimeSpan.FromMilliseconds(1) }).AsTask().Result;
                Interlocked.Add(ref charged, (long)r.Settlement.Charged.ToDecimal());
            }
        }, TaskCreationOptions.LongRunning)).ToArray();

        await Task.WhenAll(consumers);
        stop.Cancel();
        await reclaimer;

        charged.Should().Be(40_000);
        var balance = h.Ledger.GetBalance("acme");
        balance.Held.IsZero.Should().BeTrue();
        balance.Balance.ToDecimal().Should().Be(1_000_000 - 40_000);
        (await h.Ledger.VerifyAsync()).IsValid.Should().BeTrue();
    }

    [Test]
    public void LedgerHash_Parse_WrongLength_ThrowsFormatException()
    {
        Action parse = () => LedgerHash.Parse("abcd");
        parse.Should().Throw<FormatException>();
        LedgerHash.Parse(new string('0', 64)).Should().Be(LedgerHash.Genesis);
    }

    /// <summary>An in-memory store that notes, after each append, the reservations it committed; appends take a random while.</summary>
    private sealed class RecordingStore(int seed) : DelegatingLedgerStore(new InMemoryLedgerStore())
    {
        private readonly Random _random = new(seed);

        public ConcurrentDictionary<long, bool> Committed { get; } = new();

        public override async ValueTask AppendAsync(LedgerBatch batch, CancellationToken cancellationToken = default)
        {
            Thread.SpinWait(_random.Next(0, 20_000));
            await Inner.AppendAsync(batch, cancellationToken);
            foreach (LedgerEntry entry in batch.Entries.Span.ToArray())
            {
                if (entry.ReservationId is long id)
                {
                    Committed[id] = true;
                }
            }
        }
    }

    /// <summary>An in-memory store whose appends wait for a gate, to hold a durable call in flight.</summary>
    private sealed class GatedStore() : DelegatingLedgerStore(new InMemoryLedgerStore())
    {
        public ManualResetEventSlim Gate { get; } = new(true);

        public override ValueTask AppendAsync(LedgerBatch batch, CancellationToken cancellationToken = default)
        {
            Gate.Wait(cancellationToken);
            return Inner.AppendAsync(batch, cancellationToken);
        }
    }
}
