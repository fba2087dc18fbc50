using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Budgets;

/// <summary>A budget window in leased mode (many instances): holds are paid from this instance's lease as well as checked against the ceiling.</summary>
[TestFixture]
public sealed class LeasedMeterWindowTests
{
    private static MeterWindow Leased() => new(0, long.MaxValue, UsageWindow.Month, 0, leased: true);

    [Test]
    public void WithoutALease_NothingIsHeld_AndTheRefusalAsksForATopUp()
    {
        MeterWindow window = Leased();

        window.TryHold(5, ceiling: 100, limit: 100, out _, out bool leaseShort).Should().BeFalse();

        leaseShort.Should().BeTrue("the ceiling has room; only the lease is short");
        window.Consumed.Should().Be(0, "a refused hold leaves nothing counted");
        window.Available.Should().Be(0);
    }

    [Test]
    public void AHold_TakesFromTheLease_AndASettlementGivesBackWhatItDidNotUse()
    {
        MeterWindow window = Leased();
        window.AddLeased(10);

        window.TryHold(6, ceiling: 100, limit: 100, out _, out _).Should().BeTrue();
        window.Available.Should().Be(4);
        window.TryHold(6, ceiling: 100, limit: 100, out _, out bool leaseShort).Should().BeFalse("the lease holds 4, not 6");
        leaseShort.Should().BeTrue();

        window.Settle(held: 6, used: 2);

        window.Available.Should().Be(8);
        window.Committed.Should().Be(2, "what was used stays taken from the lease");
        window.Consumed.Should().Be(2);
    }

    [Test]
    public void TheCeilingRefuses_WithoutAskingForATopUp_AndTheLeaseIsUntouched()
    {
        MeterWindow window = Leased();
        window.AddLeased(50);
        window.CountRecorded(95);

        window.TryHold(10, ceiling: 100, limit: 100, out _, out bool leaseShort).Should().BeFalse();

        leaseShort.Should().BeFalse("the budget itself is full: another instance's use counts toward it");
        window.Available.Should().Be(50, "a hold the ceiling refused gives its lease units back");
        window.Consumed.Should().Be(95);
    }

    [Test]
    public void UseRecordedElsewhere_CountsTowardTheCeiling_AndNeverInTheLease()
    {
        MeterWindow window = Leased();
        window.AddLeased(20);

        window.CountRecorded(30);

        window.Available.Should().Be(20);
        window.Committed.Should().Be(0);
        window.Settled.Should().Be(30);
    }

    [Test]
    public void AnOverrun_LeavesTheLeaseShort_UntilATopUpCoversIt()
    {
        MeterWindow window = Leased();
        window.AddLeased(5);
        window.TryHold(5, ceiling: 100, limit: 100, out _, out _).Should().BeTrue();

        window.Settle(held: 5, used: 8);

        window.Available.Should().Be(-3);
        window.TryHold(1, ceiling: 100, limit: 100, out _, out bool leaseShort).Should().BeFalse();
        leaseShort.Should().BeTrue();
        window.TakeLeased().Should().Be(0, "a short lease has nothing to give back");
        window.AddLeased(4);
        window.TryHold(1, ceiling: 100, limit: 100, out _, out _).Should().BeTrue();
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task ManyThreads_NeverHoldMoreThanTheLeaseGranted(int seed)
    {
        MeterWindow window = Leased();
        window.AddLeased(1_000);
        long held = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            var random = new Random(seed * 31 + t);
            for (int i = 0; i < 2_000; i++)
            {
                long quantity = random.Next(1, 5);
                if (window.TryHold(quantity, ceiling: long.MaxValue, limit: long.MaxValue, out _, out _))
                {
                    Interlocked.Add(ref held, quantity);
                    if (random.Next(2) == 0)
                    {
                        window.Settle(quantity, 0);
                        Interlocked.Add(ref held, -quantity);
                    }
                }
            }
        })));

        held.Should().BeLessThanOrEqualTo(1_000);
        window.Consumed.Should().Be(held);
        window.Available.Should().Be(1_000 - held);
        window.TakeLeased().Should().Be(1_000 - held);
        window.Committed.Should().Be(held);
    }
}
