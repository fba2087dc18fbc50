using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>The escrow primitive: leases never take more than a pool has, come back when returned or swept, and the last units go direct.</summary>
[TestFixture]
public sealed class PoolLeasesTests : PoolFixture
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    [Test]
    public async Task Take_NeverMoreThanRemains_AndReturnSplitsUsedFromGivenBack()
    {
        PoolLeases pools = await PoolsAsync();
        await pools.EnsurePoolAsync("wallet:acme", 100);

        PoolLeases.Lease? a = await pools.TakeAsync("wallet:acme", "i-1", 60, T0.AddMinutes(1));
        PoolLeases.Lease? b = await pools.TakeAsync("wallet:acme", "i-2", 60, T0.AddMinutes(1));
        PoolLeases.Lease? c = await pools.TakeAsync("wallet:acme", "i-2", 40, T0.AddMinutes(1));

        a.Should().NotBeNull();
        b.Should().BeNull("60 + 60 is more than the 100 the pool has");
        c.Should().NotBeNull();
        (await pools.ReadAsync("wallet:acme")).Should().Be((100L, 0L, 100L));
        (await pools.ReturnAsync(a!, spent: 25)).Should().BeTrue();
        (await pools.ReadAsync("wallet:acme")).Should().Be((100L, 25L, 40L));
        (await pools.ReturnAsync(a!, spent: 25)).Should().BeFalse("a lease returns once");
        (await pools.ReadAsync("wallet:acme")).Should().Be((100L, 25L, 40L));
    }

    [Test]
    public async Task ShrinkTo_SentAgainAfterItsAnswerWasLost_GivesBackOnce()
    {
        PoolLeases pools = await PoolsAsync();
        await pools.EnsurePoolAsync("block:a", 100);
        Guid lease = Guid.NewGuid();
        (long granted, long amount, _) = await pools.GrowAsync("block:a", lease, "i-1", 60, exact: true, T0.AddMinutes(1));
        (granted, amount).Should().Be((60L, 60L));

        (await pools.ShrinkToAsync(lease, 45)).Should().BeTrue();
        (await pools.ReadAsync("block:a")).Should().Be((100L, 0L, 45L));
        (await pools.ShrinkToAsync(lease, 45)).Should().BeTrue("the lease is still there");
        (await pools.ReadAsync("block:a")).Should().Be((100L, 0L, 45L), "the same shrink sent again gives back nothing more");
        (await pools.ShrinkToAsync(lease, 50)).Should().BeFalse("a shrink never grows a lease");
        (await pools.ReadAsync("block:a")).Should().Be((100L, 0L, 45L));
        (await pools.EndAsync(lease, 0)).Should().BeTrue();
        (await pools.ShrinkToAsync(lease, 0)).Should().BeFalse("the lease is gone");
    }

    [Test]
    public async Task NearExhaustion_TheLastUnitsGoDirect_NoneStranded_NoneOversold()
    {
        PoolLeases pools = await PoolsAsync();
        await pools.EnsurePoolAsync("budget:team", 50);
        PoolLeases.Lease lease = (await pools.TakeAsync("budget:team", "i-1", 45, T0.AddMinutes(1)))!;
        (await pools.TakeAsync("budget:team", "i-2", 10, T0.AddMinutes(1))).Should().BeNull();

        int direct = 0;
        while (await pools.SpendDirectAsync("budget:team", 1))
        {
            direct++;
        }

        direct.Should().Be(5);
        await pools.ReturnAsync(lease, spent: 45);
        (await pools.ReadAsync("budget:team")).Should().Be((50L, 50L, 0L), "every unit spent, none stranded, none oversold");
    }

    [Test]
    public async Task Sweep_ALeaseWhoseOwnerStoppedRenewing_ReturnsItsUnreportedRest_AfterExpiryAndGrace()
    {
        PoolLeases pools = await PoolsAsync();
        await pools.EnsurePoolAsync("wallet:acme", 1_000);
        PoolLeases.Lease dead = (await pools.TakeAsync("wallet:acme", "i-dead", 100, T0.AddSeconds(30)))!;
        PoolLeases.Lease alive = (await pools.TakeAsync("wallet:acme", "i-alive", 100, T0.AddSeconds(30)))!;
        (await pools.RenewAsync(dead, spentSoFar: 30, T0.AddSeconds(30))).Should().BeTrue();
        (await pools.RenewAsync(alive, spentSoFar: 10, T0.AddSeconds(90))).Should().BeTrue();

        (await pools.SweepAsync(T0.AddSeconds(29))).Should().Be(0, "not expired yet");
        (await pools.SweepAsync(T0.AddSeconds(31))).Should().Be(1);

        (await pools.ReadAsync("wallet:acme")).Should().Be((1_000L, 30L, 100L), "the dead lease's 30 reported are used, its other 70 are back; the live lease stays");
        (await pools.RenewAsync(dead, 40, T0.AddMinutes(5))).Should().BeFalse("a swept lease cannot be renewed: its owner must stop spending from it");
        (await pools.ReturnAsync(dead, 40)).Should().BeFalse();
        (await pools.ReturnAsync(alive, 10)).Should().BeTrue();
        (await pools.ReadAsync("wallet:acme")).Should().Be((1_000L, 40L, 0L));
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task ManyInstancesAndThreads_DrainOnePool_ExactlyToCapacity_NeverAbove(int seed)
    {
        const long capacity = 20_000;
        PoolLeases setup = await PoolsAsync();
        await setup.EnsurePoolAsync("wallet:acme", capacity);
        var instances = new PoolLeases[4];
        for (int i = 0; i < instances.Length; i++)
        {
            instances[i] = await PoolsAsync();
        }

        long spentTotal = 0;
        Task[] workers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            var random = new Random((seed * 1_000) + w);
            PoolLeases pools = instances[w % instances.Length];
            while (true)
            {
                long slice = random.Next(1, 400);
                PoolLeases.Lease? lease = await pools.TakeAsync("wallet:acme", $"i-{w % instances.Length}", slice, T0.AddMinutes(1));
                if (lease is null)
                {
                    // Near exhaustion: direct, one unit at a time, until nothing fits.
                    if (!await pools.SpendDirectAsync("wallet:acme", 1))
                    {
                        return;
                    }

                    Interlocked.Add(ref spentTotal, 1);
                    continue;
                }

                long spent = random.Next(0, 3) == 0 ? random.Next(0, (int)lease.Amount) : lease.Amount;
                Interlocked.Add(ref spentTotal, spent);
                (await pools.ReturnAsync(lease, spent)).Should().BeTrue();
            }
        })).ToArray();
        await Task.WhenAll(workers);

        (long Capacity, long Used, long Leased) end = await setup.ReadAsync("wallet:acme");
        end.Leased.Should().Be(0);
        end.Used.Should().Be(capacity, "drained exactly: the last units went direct, none stranded");
        Interlocked.Read(ref spentTotal).Should().Be(capacity, "what the workers spent is what the pool counts, never more than its capacity");
    }
}
