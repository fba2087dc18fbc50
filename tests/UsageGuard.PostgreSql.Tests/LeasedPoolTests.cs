using FluentAssertions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>An instance's side of the escrow: local spends from a lease, adaptive slices, direct spends near exhaustion, nothing stranded.</summary>
[TestFixture]
public sealed class LeasedPoolTests : PoolFixture
{
    [TestCase(1)]
    [TestCase(2)]
    public async Task FourInstancesDrainAPool_EveryUnitTakenOnce_NoneStrandedAfterReturn(int seed)
    {
        const long capacity = 5_000;
        PoolLeases setup = await PoolsAsync();
        await setup.EnsurePoolAsync("wallet:acme", capacity);
        var instances = new LeasedPool[4];
        for (int i = 0; i < instances.Length; i++)
        {
            instances[i] = new LeasedPool(await PoolsAsync(), "wallet:acme", $"i-{i}", TimeProvider.System, new LeasedPool.Options { InitialSlice = 50 + (seed * 10) });
        }

        long taken = 0;
        Task[] workers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            LeasedPool pool = instances[w % instances.Length];
            while (await pool.TryTakeAsync(1))
            {
                Interlocked.Increment(ref taken);
            }
        })).ToArray();
        await Task.WhenAll(workers);
        foreach (LeasedPool instance in instances)
        {
            await instance.DisposeAsync();
        }

        Interlocked.Read(ref taken).Should().Be(capacity, "every unit taken once: none oversold, none stranded in a lease");
        (await setup.ReadAsync("wallet:acme")).Should().Be((capacity, capacity, 0L));
    }

    [Test]
    public async Task Slice_DoublesWhenALeaseRunsOutFast_AndTheLastUnitsGoDirect()
    {
        PoolLeases pools = await PoolsAsync();
        await pools.EnsurePoolAsync("budget:team", 300);
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero));
        await using var pool = new LeasedPool(pools, "budget:team", "i-1", time, new LeasedPool.Options { InitialSlice = 10, MaxSlice = 1_000 });

        for (int i = 0; i < 30; i++)
        {
            (await pool.TryTakeAsync(1)).Should().BeTrue();
        }

        pool.Slice.Should().Be(20, "the first lease (10) was used up at once: the second was twice as large");
        (await pool.TryTakeAsync(1)).Should().BeTrue();
        pool.Slice.Should().Be(40, "the second (20) too: the third is twice as large again");
        int more = 1;
        while (await pool.TryTakeAsync(1))
        {
            more++;
        }

        more.Should().Be(270);
        pool.DirectSpends.Should().BeGreaterThan(0, "near exhaustion the last units go to the pool directly");
        await pool.DisposeAsync();
        (await pools.ReadAsync("budget:team")).Should().Be((300L, 300L, 0L));
    }

    [Test]
    public async Task AnInstanceThatDies_HoldsItsLeaseOnlyUntilTheSweepAfterItsTtl()
    {
        PoolLeases pools = await PoolsAsync();
        await pools.EnsurePoolAsync("wallet:acme", 1_000);
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero));
        var dying = new LeasedPool(pools, "wallet:acme", "i-dead", time, new LeasedPool.Options { InitialSlice = 400, LeaseTtl = TimeSpan.FromSeconds(30) });
        (await dying.TryTakeAsync(1)).Should().BeTrue();

        // The process is killed: nothing is returned.
        (await pools.ReadAsync("wallet:acme")).Leased.Should().Be(400);
        (await pools.SweepAsync(time.GetUtcNow().AddSeconds(29))).Should().Be(0);
        (await pools.SweepAsync(time.GetUtcNow().AddSeconds(31))).Should().Be(1);

        (await pools.ReadAsync("wallet:acme")).Leased.Should().Be(0, "the dead instance's lease is back after its TTL");
    }
}
