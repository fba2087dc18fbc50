using FluentAssertions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests.Diagnostics;

[TestFixture]
public sealed class LogThrottleTests
{
    [Test]
    public void Allow_LetsOneThroughPerInterval_AndCountsTheOnesHeldBack()
    {
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero));
        var throttle = new LogThrottle(TimeSpan.FromSeconds(5));

        throttle.Allow(time, out int first).Should().BeTrue();
        first.Should().Be(0);
        for (int i = 0; i < 7; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(500));
            throttle.Allow(time, out _).Should().BeFalse("within 5 s of the last line");
        }

        time.Advance(TimeSpan.FromSeconds(2));
        throttle.Allow(time, out int heldBack).Should().BeTrue();
        heldBack.Should().Be(7);
        throttle.Allow(time, out _).Should().BeFalse();
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void Allow_FromManyThreadsAtOnce_LetsExactlyOneThrough(int seed)
    {
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero));
        var throttle = new LogThrottle(TimeSpan.FromSeconds(5));
        int allowed = 0;
        using var start = new Barrier(8);
        Thread[] threads = [.. Enumerable.Range(0, 8).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < 1_000 * seed; i++)
            {
                if (throttle.Allow(time, out _))
                {
                    Interlocked.Increment(ref allowed);
                }
            }
        }))];
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        allowed.Should().Be(1);
        time.Advance(TimeSpan.FromSeconds(5));
        throttle.Allow(time, out int heldBack).Should().BeTrue();
        heldBack.Should().Be((8 * 1_000 * seed) - 1);
    }
}
