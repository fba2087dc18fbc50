using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Enforcement;

[TestFixture]
public sealed class ConcurrencyTests
{
    private static IEnumerable<TestCaseData> Races()
    {
        int[] ks = [1, 7, 64, 250, 499, 500];
        for (int seed = 1; seed <= 4; seed++)
        {
            foreach (int k in ks)
            {
                yield return new TestCaseData(k, seed).SetName($"Reserve_500Concurrent_AdmitsExactlyK(k={k},seed={seed})");
            }
        }
    }

    [TestCaseSource(nameof(Races))]
    public async Task Reserve_500Concurrent_AdmitsExactlyK(int k, int seed)
    {
        await using var h = await GuardHarness.StartAsync();
        var random = new Random(seed);

        // Spread the K units over several blocks in random sizes, so that requests cross block boundaries.
        decimal cost = 3;
        decimal total = k * cost;
        decimal left = total;
        while (left > 0)
        {
            decimal part = Math.Min(left, random.Next(1, 40));
            await h.GrantAsync("acme", part, priority: random.Next(0, 3));
            left -= part;
        }

        using var stop = new CancellationTokenSource();
        long violations = 0;
        var monitor = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (BlockAccount block in Blocks(h))
                {
                    if (block.Available < 0 || block.Used + block.Held > block.Capacity)
                    {
                        Interlocked.Increment(ref violations);
                    }
                }
            }
        });

        using var start = new Barrier(8);
        int admitted = 0;
        var workers = Enumerable.Range(0, 8).Select(w => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (int i = w; i < 500; i += 8)
            {
                var r = h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = cost }).AsTask().Result;
                if (r.IsAdmitted)
                {
                    Interlocked.Increment(ref admitted);
                }
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(workers);
        stop.Cancel();
        await monitor;

        admitted.Should().Be(k);
        violations.Should().Be(0);
        h.Available("acme").Should().Be(0);
        h.Ledger.GetBalance("acme").Held.ToDecimal().Should().Be(total);
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task ReserveSettleRelease_ManyThreads_KeepEveryPoolWithinCapacity(int seed)
    {
        await using var h = await GuardHarness.StartAsync(o => o.SettlementDurability = Durability.WriteBehind);
        for (int i = 0; i < 5; i++)
        {
            await h.GrantAsync("acme", 200, priority: i % 2);
        }

        using var start = new Barrier(6);
        long charged = 0;
        var workers = Enumerable.Range(0, 6).Select(w => Task.Factory.StartNew(() =>
        {
            var random = new Random(seed * 100 + w);
            start.SignalAndWait();
            for (int i = 0; i < 3000; i++)
            {
                decimal amount = random.Next(1, 30);
                var r = h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = amount }).AsTask().Result;
                if (!r.IsAdmitted)
                {
                    continue;
                }

                if (random.Next(3) == 0)
                {
                    r.Reservation.ReleaseAsync().AsTask().Wait();
                }
                else
                {
                    decimal actual = random.Next(0, (int)amount + 1);
                    var s = r.Reservation.SettleAsync(actual).AsTask().Result;
                    Interlocked.Add(ref charged, (long)s.Charged.ToDecimal());
                }
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(workers);

        var balance = h.Ledger.GetBalance("acme");
        balance.Held.ToDecimal().Should().Be(0);
        balance.Balance.ToDecimal().Should().Be(1000 - charged);
        balance.Available.ToDecimal().Should().Be(1000 - charged);
        foreach (BlockAccount block in Blocks(h))
        {
            (block.Used + block.Available).Should().Be(block.Capacity);
        }

        (await h.Ledger.VerifyAsync()).IsValid.Should().BeTrue();
    }

    [Test]
    public async Task Settle_RacingOnOneReservation_AppliesOnce()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 1000);
        for (int round = 0; round < 200; round++)
        {
            var r = await h.ReserveAsync("acme", 1);
            int succeeded = 0;
            int refused = 0;
            Parallel.For(0, 4, _ =>
            {
                try
                {
                    r.Reservation.SettleAsync(0.5m).AsTask().Wait();
                    Interlocked.Increment(ref succeeded);
                }
                catch (AggregateException ex) when (ex.InnerException is ReservationStateException)
                {
                    Interlocked.Increment(ref refused);
                }
                catch (ReservationStateException)
                {
                    Interlocked.Increment(ref refused);
                }
            });
            succeeded.Should().Be(1);
            refused.Should().Be(3);
        }

        h.Balance("acme").Should().Be(900);
        (await h.EntriesAsync()).Count(e => e.Kind == LedgerEntryKind.Settle).Should().Be(200);
    }

    private static BlockAccount[] Blocks(GuardHarness h)
    {
        Wallet wallet = h.Guard.WalletFor("acme", "credits");
        lock (wallet.Gate)
        {
            return wallet.Blocks.ToArray();
        }
    }
}
