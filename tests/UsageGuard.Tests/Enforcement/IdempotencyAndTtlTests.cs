using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Enforcement;

[TestFixture]
public sealed class IdempotencyAndTtlTests
{
    [Test]
    public async Task Consume_SameKeySamePayload_AppliesOnceAndReplays()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 100);
        var request = new ReservationRequest { CustomerId = "acme", Amount = 10, IdempotencyKey = "req-1" };

        var first = await h.Gate.ConsumeAsync(request);
        var second = await h.Gate.ConsumeAsync(request);

        first.Replayed.Should().BeFalse();
        second.Replayed.Should().BeTrue();
        second.Settlement.Charged.Should().Be(first.Settlement.Charged);
        second.Settlement.ReservationId.Should().Be(first.Settlement.ReservationId);
        h.Balance("acme").Should().Be(90);
    }

    [Test]
    public async Task Consume_SameKeyDifferentPayload_ThrowsConflictAndChangesNothing()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 100);
        await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 10, IdempotencyKey = "req-1" });

        Func<Task> other = () => h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 11, IdempotencyKey = "req-1" }).AsTask();
        Func<Task> otherOperation = () => h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 10, IdempotencyKey = "req-1" }).AsTask();

        (await other.Should().ThrowAsync<IdempotencyConflictException>()).Which.IdempotencyKey.Should().Be("req-1");
        await otherOperation.Should().ThrowAsync<IdempotencyConflictException>();
        h.Balance("acme").Should().Be(90);
    }

    [Test]
    public async Task Consume_SameKeyDifferentTags_ThrowsConflict_SameTagsReplay()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 100);
        await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 10, IdempotencyKey = "req-1", Tags = ["beta", "eu"] });

        Func<Task> otherTags = () => h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 10, IdempotencyKey = "req-1", Tags = ["beta"] }).AsTask();
        Func<Task> noTags = () => h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 10, IdempotencyKey = "req-1" }).AsTask();

        await otherTags.Should().ThrowAsync<IdempotencyConflictException>("tags choose the budgets a request counts toward");
        await noTags.Should().ThrowAsync<IdempotencyConflictException>();
        (await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 10, IdempotencyKey = "req-1", Tags = ["beta", "eu"] })).Replayed.Should().BeTrue();
        h.Balance("acme").Should().Be(90);
    }

    [Test]
    public async Task Reserve_DenialIsRememberedForTheKey()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 5);
        var request = new ReservationRequest { CustomerId = "acme", Amount = 10, IdempotencyKey = "big" };
        (await h.Gate.ReserveAsync(request)).IsAdmitted.Should().BeFalse();
        await h.GrantAsync("acme", 100);

        var replay = await h.Gate.ReserveAsync(request);

        replay.IsAdmitted.Should().BeFalse("the first outcome is replayed, not re-evaluated");
        replay.Replayed.Should().BeTrue();
        h.Ledger.GetBalance("acme").Held.ToDecimal().Should().Be(0);
    }

    [Test]
    public async Task Keys_AreScopedPerCustomer()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 100);
        await h.GrantAsync("globex", 100);

        await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 10, IdempotencyKey = "k" });
        var other = await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "globex", Amount = 20, IdempotencyKey = "k" });

        other.Replayed.Should().BeFalse("I6: one customer's key never touches another's");
        h.Balance("globex").Should().Be(80);
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task Consume_ConcurrentDuplicates_ApplyOnce(int seed)
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 1000);
        var tasks = Enumerable.Range(0, 64).Select(i => Task.Run(() => h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 7, IdempotencyKey = $"dup-{seed}-{i % 4}" }).AsTask())).ToArray();

        var results = await Task.WhenAll(tasks);

        results.Count(r => !r.Replayed).Should().Be(4);
        h.Balance("acme").Should().Be(1000 - 4 * 7);
    }

    [Test]
    public async Task Keys_SurviveARestart()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 100);
        var grant = await h.Ledger.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 50, IdempotencyKey = "topup-7" });
        var first = await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 10, IdempotencyKey = "req-1" });

        await h.RestartAsync();

        var replayedGrant = await h.Ledger.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 50, IdempotencyKey = "topup-7" });
        var replayedConsume = await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 10, IdempotencyKey = "req-1" });
        replayedGrant.Replayed.Should().BeTrue();
        replayedGrant.Block.Id.Should().Be(grant.Block.Id);
        replayedConsume.Replayed.Should().BeTrue();
        replayedConsume.Settlement.Charged.Should().Be(first.Settlement.Charged);
        h.Balance("acme").Should().Be(140);
    }

    [Test]
    public async Task AbandonedReservation_IsReleasedAtItsTtl_LazilyWithoutABackgroundSweep()
    {
        await using var h = await GuardHarness.StartAsync(o => o.ReservationSweepInterval = TimeSpan.Zero);
        await h.GrantAsync("acme", 10);
        (await h.ReserveAsync("acme", 10, ttl: TimeSpan.FromMinutes(1))).IsAdmitted.Should().BeTrue();
        (await h.ReserveAsync("acme", 10)).IsAdmitted.Should().BeFalse();

        h.Time.Advance(TimeSpan.FromSeconds(59));
        (await h.ReserveAsync("acme", 10)).IsAdmitted.Should().BeFalse("the hold lives until its TTL");
        h.Time.Advance(TimeSpan.FromSeconds(1));

        (await h.ReserveAsync("acme", 10)).IsAdmitted.Should().BeTrue("the abandoned hold was released at its TTL when the wallet ran short");
    }

    [Test]
    public async Task AbandonedReservation_IsReleasedByTheBackgroundSweepToo()
    {
        await using var h = await GuardHarness.StartAsync(o => o.ReservationSweepInterval = TimeSpan.FromSeconds(1));
        await h.GrantAsync("acme", 10);
        await h.ReserveAsync("acme", 4, ttl: TimeSpan.FromSeconds(5));
        h.Guard.WalletFor("acme", "credits").Blocks[0].Held.Should().Be(4_000_000);

        h.Time.Advance(TimeSpan.FromSeconds(6));

        h.Guard.WalletFor("acme", "credits").Blocks[0].Held.Should().Be(0);
    }

    [Test]
    public async Task Reservations_AreReusedWithoutConfusingStaleHandles()
    {
        await using var h = await GuardHarness.StartAsync(o => o.SettlementDurability = Durability.WriteBehind);
        await h.GrantAsync("acme", 1000);

        // Synchronous on one thread, so the settled state is the one the next reservation on this thread reuses.
        await Task.Factory.StartNew(() =>
        {
            var stale = h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1 }).AsTask().Result.Reservation;
            stale.SettleAsync(1).AsTask().Wait();

            var fresh = h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1 }).AsTask().Result.Reservation;
            Action staleSettle = () => stale.SettleAsync(1).AsTask().GetAwaiter().GetResult();

            fresh.State.Should().BeSameAs(stale.State, "the pooled state object is reused");
            staleSettle.Should().Throw<ReservationStateException>();
            fresh.SettleAsync(1).AsTask().Result.Charged.ToDecimal().Should().Be(1);
        }, TaskCreationOptions.LongRunning);

        h.Balance("acme").Should().Be(998);
        h.Guard.Reservations.Created.Should().BeLessThan(4);
    }

    [Test]
    public async Task TwoGuardsOnOneThread_KeepReusingTheirOwnReservationStates()
    {
        await using var a = await GuardHarness.StartAsync();
        await using var b = await GuardHarness.StartAsync();
        await a.GrantAsync("acme", 10);
        await b.GrantAsync("acme", 10);

        for (int i = 0; i < 1000; i++)
        {
            a.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1 }).AsTask().Result.Reservation.ReleaseAsync().AsTask().Wait();
            b.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1 }).AsTask().Result.Reservation.ReleaseAsync().AsTask().Wait();
        }

        a.Guard.Reservations.Created.Should().BeLessThan(4);
        b.Guard.Reservations.Created.Should().BeLessThan(4);
    }

    [Test]
    public void DisposedGuard_IsNotKeptAliveByAThreadThatUsedIt()
    {
        // The thread stays alive (as pool threads do) while the check runs: a dead thread's statics would not count.
        WeakReference disposed = null!;
        using var used = new ManualResetEventSlim();
        using var checkedIt = new ManualResetEventSlim();
        var worker = new Thread(() =>
        {
            disposed = UseAndDisposeAGuard();
            UseAnotherGuard();
            used.Set();
            checkedIt.Wait();
        });
        worker.Start();
        used.Wait();

        for (int i = 0; i < 3 && disposed.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        bool alive = disposed.IsAlive;
        checkedIt.Set();
        worker.Join();
        alive.Should().BeFalse();
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference UseAndDisposeAGuard()
    {
        var h = GuardHarness.StartAsync().GetAwaiter().GetResult();
        h.GrantAsync("acme", 10).GetAwaiter().GetResult();
        h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1 }).AsTask().Result.Reservation.ReleaseAsync().AsTask().Wait();
        h.DisposeAsync().AsTask().Wait();
        return new WeakReference(h.Guard);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void UseAnotherGuard()
    {
        var h = GuardHarness.StartAsync().GetAwaiter().GetResult();
        h.GrantAsync("acme", 10).GetAwaiter().GetResult();
        h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1 }).AsTask().Result.Reservation.ReleaseAsync().AsTask().Wait();
        h.DisposeAsync().AsTask().Wait();
    }
}
