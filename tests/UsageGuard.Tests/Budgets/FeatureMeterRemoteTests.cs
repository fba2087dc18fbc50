using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Budgets;

/// <summary>A meter counting use other instances recorded (followed from the shared ledger) alongside its own windows.</summary>
[TestFixture]
public sealed class FeatureMeterRemoteTests
{
    private static readonly PeriodCalendar Utc = new(TimeZoneInfo.Utc, new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private static readonly DateTimeOffset November = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset December = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static MeteredUsage Used(long quantity, DateTimeOffset start, DateTimeOffset end) => new("feature:api.calls", quantity, UsageWindow.Month, start, end);

    [Test]
    public void RemoteUse_InTheCurrentWindow_CountsTowardItsCeiling_AndNeverInItsLease()
    {
        var meter = new FeatureMeter();
        MeterWindow window = meter.WindowAt(November.AddDays(3).UtcTicks, Utc, UsageWindow.Month, leased: true);
        window.AddLeased(10);

        meter.CountRemote(Used(95, November, December));

        window.Consumed.Should().Be(95);
        window.Available.Should().Be(10, "others' use is never paid from this instance's lease");
        window.TryHold(5, 100, 100, out _, out bool leaseShort).Should().BeTrue();
        window.TryHold(1, 100, 100, out _, out leaseShort).Should().BeFalse();
        leaseShort.Should().BeFalse("the ceiling, not the lease, refused it");
    }

    [Test]
    public void RemoteUse_InAWindowNotStartedHere_StartsItFromThatUse_Summed()
    {
        var meter = new FeatureMeter();
        meter.CountRemote(Used(7, November, December));
        meter.CountRemote(Used(5, November, December));

        MeterWindow window = meter.WindowAt(November.AddDays(9).UtcTicks, Utc, UsageWindow.Month);

        window.Consumed.Should().Be(12);
        window.StartTicks.Should().Be(November.UtcTicks);
    }

    [Test]
    public void RemoteUse_InAnOlderWindow_IsHistoryOnly()
    {
        var meter = new FeatureMeter();
        MeterWindow december = meter.WindowAt(December.AddDays(1).UtcTicks, Utc, UsageWindow.Month);

        meter.CountRemote(Used(40, November, December));

        december.Consumed.Should().Be(0);
        meter.WindowAt(December.AddDays(2).UtcTicks, Utc, UsageWindow.Month).Should().BeSameAs(december);
    }

    [Test]
    public void RemoteUse_InALaterWindow_WaitsForIt_AndOlderRememberedWindowsAreDropped()
    {
        var meter = new FeatureMeter();
        var october = new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);
        meter.CountRemote(Used(3, october, November));
        MeterWindow current = meter.WindowAt(october.AddDays(30).UtcTicks, Utc, UsageWindow.Month);
        current.Consumed.Should().Be(3);

        meter.CountRemote(Used(8, November, December));

        current.Consumed.Should().Be(3, "November's use does not count in October");
        meter.WindowAt(November.AddDays(1).UtcTicks, Utc, UsageWindow.Month).Consumed.Should().Be(8);
        meter.RestoredIn(new UsagePeriod(october, November), UsageWindow.Month).Should().Be(0, "once a later window is remembered, October's is dropped: it will not start again");
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task RemoteUse_CountedWhileTheWindowStarts_IsCountedExactlyOnce(int seed)
    {
        // The follower counts others' use while request threads start the window: every unit lands once, before or after the start.
        for (int round = 0; round < 200; round++)
        {
            var meter = new FeatureMeter();
            var random = new Random((seed * 1000) + round);
            int remote = random.Next(1, 20);
            using var start = new Barrier(5);
            Task follower = Task.Run(() =>
            {
                start.SignalAndWait();
                for (int i = 0; i < remote; i++)
                {
                    meter.CountRemote(Used(1, November, December));
                }
            });
            int[] days = [.. Enumerable.Range(0, 4).Select(_ => random.Next(0, 29))];
            Task<MeterWindow>[] requests = [.. days.Select(day => Task.Run(() =>
            {
                start.SignalAndWait();
                return meter.WindowAt(November.AddDays(day).UtcTicks, Utc, UsageWindow.Month);
            }))];
            await follower;
            MeterWindow[] windows = await Task.WhenAll(requests);

            windows.Distinct().Should().ContainSingle("one window starts, whichever thread starts it");
            windows[0].Consumed.Should().Be(remote, $"round {round}");
        }
    }
}
