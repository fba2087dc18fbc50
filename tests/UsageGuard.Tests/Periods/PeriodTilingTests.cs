using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Periods;

/// <summary>Properties over random instants, anchors, zones and windows: periods tile the timeline and align to the local clock.</summary>
[TestFixture]
public sealed class PeriodTilingTests
{
    private static readonly string[] Zones =
    [
        "UTC", "America/New_York", "Europe/London", "Europe/Dublin", "Australia/Lord_Howe", "Asia/Kathmandu", "Asia/Kolkata",
        "America/Santiago", "Asia/Beirut", "Pacific/Chatham", "America/St_Johns", "Pacific/Apia", "Etc/GMT+5",
        "America/Havana", "Atlantic/Azores",
    ];

    private static readonly UsageWindow[] Windows = Enum.GetValues<UsageWindow>();

    private static readonly long From = new DateTime(1990, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;
    private static readonly long To = new DateTime(2040, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    private static DateTimeOffset RandomInstant(Random random) => new(random.NextInt64(From, To), TimeSpan.Zero);

    [TestCase(1)]
    [TestCase(7)]
    [TestCase(42)]
    [TestCase(20260308)]
    public void Containing_RandomInstants_TileTheTimeline(int seed)
    {
        var random = new Random(seed);
        foreach (string zone in Zones)
        {
            var calendar = PeriodCalendar.FromTimeZoneId(zone, RandomInstant(random));
            foreach (UsageWindow window in Windows)
            {
                for (int i = 0; i < 40; i++)
                {
                    var x = RandomInstant(random);
                    var period = calendar.Containing(x, window);
                    string because = $"{zone} {window} at {x:O} gave [{period.Start:O}, {period.End:O})";

                    period.Contains(x).Should().BeTrue(because);
                    calendar.Containing(period.Start, window).Should().Be(period, because);
                    calendar.Containing(period.End.AddTicks(-1), window).Should().Be(period, because);
                    var next = calendar.Next(period, window);
                    next.Should().Be(calendar.Containing(period.End, window), because);
                    next.Start.Should().Be(period.End, because);
                    calendar.Previous(next, window).Should().Be(period, because);
                    calendar.Previous(period, window).End.Should().Be(period.Start, because);
                    period.Start.Offset.Should().Be(calendar.TimeZone.GetUtcOffset(period.Start), because);
                    period.End.Offset.Should().Be(calendar.TimeZone.GetUtcOffset(period.End), because);
                    LengthShouldBePlausible(period, window, because);
                }
            }
        }
    }

    [TestCase(3)]
    [TestCase(11)]
    public void Next_WalkAcrossYears_AlignsEveryStartToTheLocalClock(int seed)
    {
        var random = new Random(seed);
        foreach (string zone in Zones)
        {
            var calendar = PeriodCalendar.FromTimeZoneId(zone, RandomInstant(random));
            var zoneInfo = calendar.TimeZone;
            foreach (UsageWindow window in Windows)
            {
                int steps = window switch { UsageWindow.Second => 600, UsageWindow.Minute => 24 * 60, UsageWindow.Hour => 24 * 30, UsageWindow.Day => 400, UsageWindow.Week => 120, _ => 30 };
                var period = calendar.Containing(RandomInstant(random), window);
                for (int i = 0; i < steps; i++)
                {
                    string because = $"{zone} {window} [{period.Start:O}, {period.End:O})";
                    var local = period.Start.DateTime;
                    if (window is UsageWindow.Hour or UsageWindow.Minute or UsageWindow.Second)
                    {
                        // The top of a local hour, minute or second, unless the offset changed right there.
                        long unit = window switch { UsageWindow.Hour => TimeSpan.TicksPerHour, UsageWindow.Minute => TimeSpan.TicksPerMinute, _ => TimeSpan.TicksPerSecond };
                        bool offsetChanged = zoneInfo.GetUtcOffset(period.Start.AddTicks(-1)) != period.Start.Offset;
                        (local.Ticks % unit == 0 || offsetChanged).Should().BeTrue(because);
                    }
                    else
                    {
                        // Local midnight, unless the zone skipped it: then the first instant after the gap. (TimeZoneInfo.IsInvalidTime
                        // misses some historical midnight gaps on Linux, such as America/Santiago 1998-09-27, so the clock is read directly.)
                        var justBefore = TimeZoneInfo.ConvertTime(period.Start.AddTicks(-1), zoneInfo);
                        (local.TimeOfDay == TimeSpan.Zero || justBefore.DateTime < local.Date).Should().BeTrue(because);
                        if (zoneInfo.GetUtcOffset(period.Start.AddHours(-3)) != period.Start.Offset)
                        {
                            // Near a transition: no earlier instant reads the same local time (an overlap maps to the earlier instant).
                            for (var v = period.Start.AddHours(-3); v < period.Start; v = v.AddMinutes(1))
                            {
                                TimeZoneInfo.ConvertTime(v, zoneInfo).DateTime.Should().NotBe(local, because);
                            }
                        }
                    }

                    // From the last instant the offset hint differs from the one at the start: the same period must come back.
                    calendar.Containing(period.End.AddTicks(-1), window).Should().Be(period, because);
                    var next = calendar.Next(period, window);
                    next.Start.Should().Be(period.End, because);
                    period = next;
                }
            }
        }
    }

    [TestCase(5)]
    [TestCase(99)]
    public void Containing_Hour_MatchesAMinuteByMinuteScan(int seed)
    {
        // Oracle: walk back minute by minute from the instant until the local clock reads :00 or the offset changes.
        var random = new Random(seed);
        foreach (string zone in Zones)
        {
            var calendar = PeriodCalendar.FromTimeZoneId(zone, RandomInstant(random));
            var zoneInfo = calendar.TimeZone;
            for (int i = 0; i < 60; i++)
            {
                var x = RandomInstant(random);
                var start = new DateTimeOffset(x.UtcTicks - (x.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
                while (TimeZoneInfo.ConvertTime(start, zoneInfo).Minute != 0 && zoneInfo.GetUtcOffset(start.AddMinutes(-1)) == zoneInfo.GetUtcOffset(start))
                {
                    start = start.AddMinutes(-1);
                }

                calendar.Containing(x, UsageWindow.Hour).Start.Should().Be(start, $"{zone} at {x:O}");
            }
        }
    }

    [TestCase(5)]
    [TestCase(99)]
    public void Containing_MinuteAndSecond_MatchASecondBySecondScan(int seed)
    {
        // Oracle: walk back second by second from the instant until the local clock reads :00 or the offset changes. The zone
        // database's offsets and transitions fall on whole seconds, so the local second is the UTC second holding the instant.
        var random = new Random(seed);
        foreach (string zone in Zones)
        {
            var calendar = PeriodCalendar.FromTimeZoneId(zone, RandomInstant(random));
            var zoneInfo = calendar.TimeZone;
            for (int i = 0; i < 60; i++)
            {
                var x = RandomInstant(random);
                var second = new DateTimeOffset(x.UtcTicks - (x.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
                var start = second;
                while (TimeZoneInfo.ConvertTime(start, zoneInfo).Second != 0 && zoneInfo.GetUtcOffset(start.AddSeconds(-1)) == zoneInfo.GetUtcOffset(start))
                {
                    start = start.AddSeconds(-1);
                }

                calendar.Containing(x, UsageWindow.Minute).Start.Should().Be(start, $"{zone} at {x:O}");
                calendar.Containing(x, UsageWindow.Second).Should().Be(new UsagePeriod(second, second.AddSeconds(1)), $"{zone} at {x:O}");
            }
        }
    }

    private static void LengthShouldBePlausible(UsagePeriod period, UsageWindow window, string because)
    {
        // Pacific/Apia skipped 30 December 2011 entirely: its weeks, months and years around then lose a day.
        TimeSpan slack = TimeSpan.FromHours(2);
        (TimeSpan min, TimeSpan max) = window switch
        {
            UsageWindow.Second => (TimeSpan.FromTicks(1), TimeSpan.FromSeconds(1)),
            UsageWindow.Minute => (TimeSpan.FromTicks(1), TimeSpan.FromMinutes(1)),
            UsageWindow.Hour => (TimeSpan.FromTicks(1), TimeSpan.FromHours(1)),
            UsageWindow.Day => (TimeSpan.FromHours(22), TimeSpan.FromHours(26)),
            UsageWindow.Week => (TimeSpan.FromDays(6) - slack, TimeSpan.FromDays(7) + slack),
            UsageWindow.Month => (TimeSpan.FromDays(27) - slack, TimeSpan.FromDays(31) + slack),
            _ => (TimeSpan.FromDays(364) - slack, TimeSpan.FromDays(366) + slack),
        };
        period.Length.Should().BeGreaterThanOrEqualTo(min, because).And.BeLessThanOrEqualTo(max, because);
    }
}
