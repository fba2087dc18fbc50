using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Periods;

[TestFixture]
public sealed class PeriodCalendarTests
{
    private static readonly TimeSpan Est = TimeSpan.FromHours(-5);
    private static readonly TimeSpan Edt = TimeSpan.FromHours(-4);

    private static DateTimeOffset Utc(int y, int mo, int d, int h = 0, int mi = 0) => new(y, mo, d, h, mi, 0, TimeSpan.Zero);

    private static DateTimeOffset At(int y, int mo, int d, int h, int mi, TimeSpan offset) => new(y, mo, d, h, mi, 0, offset);

    private static PeriodCalendar Calendar(string zone, DateTimeOffset? anchor = null) => PeriodCalendar.FromTimeZoneId(zone, anchor ?? Utc(2026, 1, 1));

    /// <summary>Asserts the bounds as instants and as the local offsets they are expressed in.</summary>
    private static void ShouldBe(UsagePeriod period, DateTimeOffset start, DateTimeOffset end)
    {
        period.Start.Should().BeExactly(start);
        period.End.Should().BeExactly(end);
    }

    [Test]
    public void Containing_UtcEveryWindow_IsCalendarAligned()
    {
        // Anchor on Saturday 31 January: weeks start on Saturdays, months on the 31st (clamped), years on 31 January.
        var calendar = Calendar("UTC", Utc(2026, 1, 31, 10));
        var x = Utc(2026, 5, 17, 13, 45).AddSeconds(12);

        ShouldBe(calendar.Containing(x, UsageWindow.Hour), Utc(2026, 5, 17, 13), Utc(2026, 5, 17, 14));
        ShouldBe(calendar.Containing(x, UsageWindow.Day), Utc(2026, 5, 17), Utc(2026, 5, 18));
        ShouldBe(calendar.Containing(x, UsageWindow.Week), Utc(2026, 5, 16), Utc(2026, 5, 23));
        ShouldBe(calendar.Containing(x, UsageWindow.Month), Utc(2026, 4, 30), Utc(2026, 5, 31));
        ShouldBe(calendar.Containing(x, UsageWindow.Year), Utc(2026, 1, 31), Utc(2027, 1, 31));
        ShouldBe(calendar.Containing(x, UsageWindow.Minute), Utc(2026, 5, 17, 13, 45), Utc(2026, 5, 17, 13, 46));
        ShouldBe(calendar.Containing(x.AddMilliseconds(999), UsageWindow.Second), Utc(2026, 5, 17, 13, 45).AddSeconds(12), Utc(2026, 5, 17, 13, 45).AddSeconds(13));
    }

    [Test]
    public void Containing_InstantAtBoundary_BelongsToTheNewPeriod()
    {
        var calendar = Calendar("America/New_York", Utc(2026, 1, 15, 12));
        var midnight = At(2026, 6, 15, 0, 0, Edt);

        foreach (UsageWindow window in new[] { UsageWindow.Second, UsageWindow.Minute, UsageWindow.Hour, UsageWindow.Day, UsageWindow.Month })
        {
            calendar.Containing(midnight, window).Start.Should().Be(midnight, "{0} starts at the boundary", window);
            calendar.Containing(midnight.AddTicks(-1), window).End.Should().Be(midnight, "{0} before the boundary ends at it", window);
        }

        ShouldBe(calendar.Containing(midnight, UsageWindow.Month), midnight, At(2026, 7, 15, 0, 0, Edt));
        ShouldBe(calendar.Containing(midnight.AddTicks(-1), UsageWindow.Month), At(2026, 5, 15, 0, 0, Edt), midnight);
    }

    [Test]
    public void Containing_NewYorkSpringForward_DayIs23HoursAndHoursSkipTheGap()
    {
        var calendar = Calendar("America/New_York");

        var day = calendar.Containing(At(2026, 3, 8, 12, 0, Edt), UsageWindow.Day);
        ShouldBe(day, At(2026, 3, 8, 0, 0, Est), At(2026, 3, 9, 0, 0, Edt));
        day.Length.Should().Be(TimeSpan.FromHours(23));

        ShouldBe(calendar.Containing(Utc(2026, 3, 8, 6, 59), UsageWindow.Hour), At(2026, 3, 8, 1, 0, Est), At(2026, 3, 8, 3, 0, Edt));
        ShouldBe(calendar.Containing(Utc(2026, 3, 8, 7, 0), UsageWindow.Hour), At(2026, 3, 8, 3, 0, Edt), At(2026, 3, 8, 4, 0, Edt));
    }

    [Test]
    public void Containing_NewYorkFallBack_DayIs25HoursAndTheRepeatedHourIsTwoWindows()
    {
        var calendar = Calendar("America/New_York", At(2026, 3, 1, 9, 0, Est));

        var day = calendar.Containing(At(2026, 11, 1, 12, 0, Est), UsageWindow.Day);
        ShouldBe(day, At(2026, 11, 1, 0, 0, Edt), At(2026, 11, 2, 0, 0, Est));
        day.Length.Should().Be(TimeSpan.FromHours(25));

        var first = calendar.Containing(At(2026, 11, 1, 1, 30, Edt), UsageWindow.Hour);
        var second = calendar.Containing(At(2026, 11, 1, 1, 30, Est), UsageWindow.Hour);
        ShouldBe(first, At(2026, 11, 1, 1, 0, Edt), At(2026, 11, 1, 1, 0, Est));
        ShouldBe(second, At(2026, 11, 1, 1, 0, Est), At(2026, 11, 1, 2, 0, Est));
        calendar.Next(first, UsageWindow.Hour).Should().Be(second);

        // The anchor is a Sunday: the week holding the fall-back is 7 days and 1 hour.
        var week = calendar.Containing(At(2026, 11, 4, 12, 0, Est), UsageWindow.Week);
        ShouldBe(week, At(2026, 11, 1, 0, 0, Edt), At(2026, 11, 8, 0, 0, Est));
        week.Length.Should().Be(TimeSpan.FromDays(7) + TimeSpan.FromHours(1));

        ShouldBe(calendar.Containing(At(2026, 11, 15, 0, 0, Est), UsageWindow.Month), At(2026, 11, 1, 0, 0, Edt), At(2026, 12, 1, 0, 0, Est));
        ShouldBe(calendar.Containing(At(2026, 3, 15, 0, 0, Edt), UsageWindow.Month), At(2026, 3, 1, 0, 0, Est), At(2026, 4, 1, 0, 0, Edt));
        ShouldBe(calendar.Containing(At(2026, 11, 15, 0, 0, Est), UsageWindow.Year), At(2026, 3, 1, 0, 0, Est), At(2027, 3, 1, 0, 0, Est));
    }

    [Test]
    public void Containing_London_FollowsBothTransitions()
    {
        var calendar = Calendar("Europe/London");
        var bst = TimeSpan.FromHours(1);

        ShouldBe(calendar.Containing(Utc(2026, 3, 29, 12), UsageWindow.Day), Utc(2026, 3, 29), At(2026, 3, 30, 0, 0, bst));
        ShouldBe(calendar.Containing(Utc(2026, 3, 29, 0, 30), UsageWindow.Hour), Utc(2026, 3, 29), At(2026, 3, 29, 2, 0, bst));
        ShouldBe(calendar.Containing(Utc(2026, 3, 29, 1, 0), UsageWindow.Hour), At(2026, 3, 29, 2, 0, bst), At(2026, 3, 29, 3, 0, bst));

        ShouldBe(calendar.Containing(Utc(2026, 10, 25, 12), UsageWindow.Day), At(2026, 10, 25, 0, 0, bst), Utc(2026, 10, 26));
        ShouldBe(calendar.Containing(Utc(2026, 10, 25, 0, 30), UsageWindow.Hour), At(2026, 10, 25, 1, 0, bst), Utc(2026, 10, 25, 1));
        ShouldBe(calendar.Containing(Utc(2026, 10, 25, 1, 30), UsageWindow.Hour), Utc(2026, 10, 25, 1), Utc(2026, 10, 25, 2));
    }

    [Test]
    public void Containing_LordHoweHalfHourShift_SplitsHoursAtTheTransition()
    {
        var calendar = Calendar("Australia/Lord_Howe");
        var lhdt = TimeSpan.FromHours(11);
        var lhst = new TimeSpan(10, 30, 0);

        // 5 April 2026, 02:00 +11 falls back to 01:30 +10:30: the hour 01:xx is read under two offsets.
        ShouldBe(calendar.Containing(Utc(2026, 4, 4, 14, 45), UsageWindow.Hour), At(2026, 4, 5, 1, 0, lhdt), At(2026, 4, 5, 1, 30, lhst));
        ShouldBe(calendar.Containing(Utc(2026, 4, 4, 15, 10), UsageWindow.Hour), At(2026, 4, 5, 1, 30, lhst), At(2026, 4, 5, 2, 0, lhst));
        ShouldBe(calendar.Containing(Utc(2026, 4, 4, 15, 30), UsageWindow.Hour), At(2026, 4, 5, 2, 0, lhst), At(2026, 4, 5, 3, 0, lhst));
        calendar.Containing(Utc(2026, 4, 5), UsageWindow.Day).Length.Should().Be(new TimeSpan(24, 30, 0));

        // 4 October 2026, 02:00 +10:30 springs forward to 02:30 +11: the hour 02:xx lasts 30 minutes.
        ShouldBe(calendar.Containing(Utc(2026, 10, 3, 15, 0), UsageWindow.Hour), At(2026, 10, 4, 1, 0, lhst), At(2026, 10, 4, 2, 30, lhdt));
        ShouldBe(calendar.Containing(Utc(2026, 10, 3, 15, 30), UsageWindow.Hour), At(2026, 10, 4, 2, 30, lhdt), At(2026, 10, 4, 3, 0, lhdt));
        var day = calendar.Containing(Utc(2026, 10, 4), UsageWindow.Day);
        ShouldBe(day, At(2026, 10, 4, 0, 0, lhst), At(2026, 10, 5, 0, 0, lhdt));
        day.Length.Should().Be(new TimeSpan(23, 30, 0));
    }

    [TestCase("Asia/Kathmandu", 5, 45)]
    [TestCase("Asia/Kolkata", 5, 30)]
    public void Containing_NonHourOffset_AlignsToTheLocalClock(string zone, int hours, int minutes)
    {
        var calendar = Calendar(zone, Utc(2026, 1, 10));
        var offset = new TimeSpan(hours, minutes, 0);
        var x = At(2026, 6, 10, 10, 5, offset);

        ShouldBe(calendar.Containing(x, UsageWindow.Hour), At(2026, 6, 10, 10, 0, offset), At(2026, 6, 10, 11, 0, offset));
        ShouldBe(calendar.Containing(x, UsageWindow.Day), At(2026, 6, 10, 0, 0, offset), At(2026, 6, 11, 0, 0, offset));
        ShouldBe(calendar.Containing(x, UsageWindow.Month), At(2026, 6, 10, 0, 0, offset), At(2026, 7, 10, 0, 0, offset));
    }

    [TestCase("Asia/Kathmandu", 5, 45)]
    [TestCase("Asia/Kolkata", 5, 30)]
    public void Containing_MinuteAndSecondInNonHourOffset_AlignToTheLocalClock(string zone, int hours, int minutes)
    {
        var calendar = Calendar(zone, Utc(2026, 1, 10));
        var offset = new TimeSpan(hours, minutes, 0);
        var minute = At(2026, 6, 10, 10, 5, offset);
        var x = minute.AddSeconds(42).AddMilliseconds(250);

        ShouldBe(calendar.Containing(x, UsageWindow.Minute), minute, At(2026, 6, 10, 10, 6, offset));
        ShouldBe(calendar.Containing(x, UsageWindow.Second), minute.AddSeconds(42), minute.AddSeconds(43));

        // Sixty minutes from the top of the local hour (04:15 or 04:30 UTC) end exactly where the hour does.
        var hour = calendar.Containing(x, UsageWindow.Hour);
        var period = calendar.Containing(hour.Start, UsageWindow.Minute);
        for (int i = 0; i < 60; i++)
        {
            period.Start.Should().BeExactly(hour.Start.AddMinutes(i));
            period = calendar.Next(period, UsageWindow.Minute);
        }

        period.Start.Should().BeExactly(hour.End);
    }

    [Test]
    public void Containing_MinuteAndSecondAtLondonTransitions_ChangeOffsetAtTheBoundary()
    {
        var calendar = Calendar("Europe/London");
        var bst = TimeSpan.FromHours(1);

        // 30 March 2025, 01:00 GMT jumps to 02:00 BST: the last minute and second before the gap end where BST starts.
        ShouldBe(calendar.Containing(Utc(2025, 3, 30, 0, 59).AddSeconds(30), UsageWindow.Minute), Utc(2025, 3, 30, 0, 59), At(2025, 3, 30, 2, 0, bst));
        ShouldBe(calendar.Containing(Utc(2025, 3, 30, 1, 0), UsageWindow.Minute), At(2025, 3, 30, 2, 0, bst), At(2025, 3, 30, 2, 1, bst));
        ShouldBe(calendar.Containing(Utc(2025, 3, 30, 1, 0).AddTicks(-1), UsageWindow.Second), Utc(2025, 3, 30, 0, 59).AddSeconds(59), At(2025, 3, 30, 2, 0, bst));

        // 26 October 2025, 02:00 BST falls back to 01:00 GMT: the local minute 01:59 is read under both offsets, an hour apart.
        ShouldBe(calendar.Containing(Utc(2025, 10, 26, 0, 59).AddSeconds(30), UsageWindow.Minute), At(2025, 10, 26, 1, 59, bst), Utc(2025, 10, 26, 1, 0));
        ShouldBe(calendar.Containing(Utc(2025, 10, 26, 1, 0), UsageWindow.Minute), Utc(2025, 10, 26, 1, 0), Utc(2025, 10, 26, 1, 1));
        ShouldBe(calendar.Containing(Utc(2025, 10, 26, 1, 59).AddSeconds(30), UsageWindow.Minute), Utc(2025, 10, 26, 1, 59), Utc(2025, 10, 26, 2, 0));
        ShouldBe(calendar.Containing(Utc(2025, 10, 26, 1, 0).AddTicks(-1), UsageWindow.Second), At(2025, 10, 26, 1, 59, bst).AddSeconds(59), Utc(2025, 10, 26, 1, 0));
    }

    [TestCase(2025, 3, 30)]
    [TestCase(2025, 10, 26)]
    public void Next_MinutesAndSecondsAcrossLondonTransition_TileWithoutGapsOrOverlaps(int year, int month, int day)
    {
        // Both 2025 transitions happen at 01:00 UTC; walk 90 windows up to it and 90 past it.
        var calendar = Calendar("Europe/London");
        var transition = Utc(year, month, day, 1);
        foreach (UsageWindow window in new[] { UsageWindow.Minute, UsageWindow.Second })
        {
            TimeSpan unit = window == UsageWindow.Minute ? TimeSpan.FromMinutes(1) : TimeSpan.FromSeconds(1);
            var period = calendar.Containing(transition - (unit * 90), window);
            for (int i = -90; i < 90; i++)
            {
                string because = $"{window} [{period.Start:O}, {period.End:O})";
                period.Start.Should().Be(transition + (unit * i), because);
                period.Length.Should().Be(unit, because);
                period.Start.Offset.Should().Be(calendar.TimeZone.GetUtcOffset(period.Start), because);
                (period.Start.DateTime.Ticks % unit.Ticks).Should().Be(0, because);
                calendar.Containing(period.End.AddTicks(-1), window).Should().Be(period, because);

                var next = calendar.Next(period, window);
                next.Start.Should().Be(period.End, because);
                calendar.Previous(next, window).Should().Be(period, because);
                period = next;
            }
        }
    }

    [Test]
    public void Containing_MinuteAndSecondAroundAnOffsetChangeInsideAMinute_SplitAtTheChange()
    {
        // On 1 December 1847 London left local mean time (-00:01:15, which TimeZoneInfo reports as -00:01) for GMT at
        // 00:01:15 UTC: the offset changes inside a minute, so that minute is two windows, as a repeated hour is.
        var calendar = Calendar("Europe/London");
        var lmt = TimeSpan.FromMinutes(-1);
        var change = Utc(1847, 12, 1, 0, 1).AddSeconds(15);
        Assume.That(calendar.TimeZone.GetUtcOffset(change.AddTicks(-1)), Is.EqualTo(lmt), "the zone database has no local mean time for London");

        var before = calendar.Containing(change.AddTicks(-1), UsageWindow.Minute);
        ShouldBe(before, At(1847, 12, 1, 0, 0, lmt), change);
        ShouldBe(calendar.Containing(change, UsageWindow.Minute), change, Utc(1847, 12, 1, 0, 2));
        calendar.Next(before, UsageWindow.Minute).Should().Be(calendar.Containing(change, UsageWindow.Minute));
        ShouldBe(calendar.Containing(change.AddTicks(-1), UsageWindow.Second), At(1847, 12, 1, 0, 0, lmt).AddSeconds(14), change);
        ShouldBe(calendar.Containing(change, UsageWindow.Second), change, change.AddSeconds(1));
    }

    [Test]
    public void Containing_SantiagoMidnightGap_StartsTheDayAtTheFirstInstantAfterTheGap()
    {
        var calendar = Calendar("America/Santiago");
        var clt = TimeSpan.FromHours(-4);
        var clst = TimeSpan.FromHours(-3);

        // 6 September 2026: 00:00 -04 never happens, the clock jumps to 01:00 -03.
        ShouldBe(calendar.Containing(Utc(2026, 9, 6, 12), UsageWindow.Day), At(2026, 9, 6, 1, 0, clst), At(2026, 9, 7, 0, 0, clst));
        ShouldBe(calendar.Containing(Utc(2026, 9, 6, 3, 59), UsageWindow.Day), At(2026, 9, 5, 0, 0, clt), At(2026, 9, 6, 1, 0, clst));

        // 5 April 2026: 00:00 -03 falls back to 23:00 -04 on the 4th; the repeated hour belongs to the 4th.
        var day = calendar.Containing(Utc(2026, 4, 5, 3, 30), UsageWindow.Day);
        ShouldBe(day, At(2026, 4, 4, 0, 0, clst), At(2026, 4, 5, 0, 0, clt));
        day.Length.Should().Be(TimeSpan.FromHours(25));
    }

    [Test]
    public void Containing_HavanaMidnightOverlap_StartsAtTheEarlierInstant()
    {
        // 1 November 2026: 01:00 CDT falls back to 00:00 CST, so midnight is read twice (04:00Z and 05:00Z).
        var calendar = Calendar("America/Havana", At(2026, 3, 1, 12, 0, Est));
        var cst = TimeSpan.FromHours(-5);
        var cdt = TimeSpan.FromHours(-4);

        var day = calendar.Containing(Utc(2026, 11, 1, 5, 30), UsageWindow.Day);
        ShouldBe(day, At(2026, 11, 1, 0, 0, cdt), At(2026, 11, 2, 0, 0, cst));
        day.Length.Should().Be(TimeSpan.FromHours(25));
        ShouldBe(calendar.Containing(Utc(2026, 11, 1, 3, 59), UsageWindow.Day), At(2026, 10, 31, 0, 0, cdt), At(2026, 11, 1, 0, 0, cdt));
        ShouldBe(calendar.Containing(Utc(2026, 11, 20), UsageWindow.Month), At(2026, 11, 1, 0, 0, cdt), At(2026, 12, 1, 0, 0, cst));
        ShouldBe(calendar.Containing(Utc(2026, 11, 1, 4, 30), UsageWindow.Hour), At(2026, 11, 1, 0, 0, cdt), At(2026, 11, 1, 0, 0, cst));
        ShouldBe(calendar.Containing(Utc(2026, 11, 1, 5, 30), UsageWindow.Hour), At(2026, 11, 1, 0, 0, cst), At(2026, 11, 1, 1, 0, cst));

        // 8 March 2026: 00:00 CST jumps to 01:00 CDT, so the day and the month start after the gap.
        ShouldBe(calendar.Containing(Utc(2026, 3, 8, 12), UsageWindow.Day), At(2026, 3, 8, 1, 0, cdt), At(2026, 3, 9, 0, 0, cdt));
        ShouldBe(calendar.Containing(Utc(2026, 3, 8, 12), UsageWindow.Month), At(2026, 3, 1, 0, 0, cst), At(2026, 4, 1, 0, 0, cdt));
    }

    [Test]
    public void Containing_AzoresMidnightOverlap_StartsAtTheEarlierInstant()
    {
        // 25 October 2026: 01:00 +00 falls back to 00:00 -01, so midnight is read at 00:00Z and at 01:00Z.
        var calendar = Calendar("Atlantic/Azores");
        var summer = TimeSpan.Zero;
        var winter = TimeSpan.FromHours(-1);

        ShouldBe(calendar.Containing(Utc(2026, 10, 25, 12), UsageWindow.Day), At(2026, 10, 25, 0, 0, summer), At(2026, 10, 26, 0, 0, winter));
        ShouldBe(calendar.Containing(Utc(2026, 10, 24, 23, 59), UsageWindow.Day), At(2026, 10, 24, 0, 0, summer), At(2026, 10, 25, 0, 0, summer));
    }

    [Test]
    public void Containing_BeirutMidnightTransitions_FollowTheGapAndOverlapRules()
    {
        var calendar = Calendar("Asia/Beirut");
        var eet = TimeSpan.FromHours(2);
        var eest = TimeSpan.FromHours(3);

        ShouldBe(calendar.Containing(Utc(2026, 3, 29, 12), UsageWindow.Day), At(2026, 3, 29, 1, 0, eest), At(2026, 3, 30, 0, 0, eest));
        ShouldBe(calendar.Containing(Utc(2026, 10, 24, 21, 30), UsageWindow.Day), At(2026, 10, 24, 0, 0, eest), At(2026, 10, 25, 0, 0, eet));
    }

    [Test]
    public void Containing_AnchorOn31st_ClampsEachMonthWithoutDrift()
    {
        var calendar = Calendar("America/New_York", At(2026, 1, 31, 9, 0, Est));
        var period = calendar.Containing(At(2026, 2, 1, 0, 0, Est), UsageWindow.Month);
        int[] expectedDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 28, 31, 30];
        var starts = new List<(int Year, int Month, int Day)>();
        for (int i = 0; i < expectedDays.Length; i++)
        {
            starts.Add((period.Start.Year, period.Start.Month, period.Start.Day));
            period.Start.TimeOfDay.Should().Be(TimeSpan.Zero);
            period = calendar.Next(period, UsageWindow.Month);
        }

        starts.Select(s => s.Day).Should().Equal(expectedDays);
        starts[0].Should().Be((2026, 1, 31));
        starts[13].Should().Be((2027, 2, 28));
        starts[^1].Should().Be((2027, 4, 30));
    }

    [TestCase(29, new[] { 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29 })]
    [TestCase(30, new[] { 30, 29, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30 })]
    [TestCase(31, new[] { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31 })]
    public void Next_MonthAnchorInLeapYear2028_ClampsToFebruary29WithoutDrift(int anchorDay, int[] expectedDays)
    {
        var calendar = Calendar("UTC", Utc(2020, 1, anchorDay, 15));
        var period = calendar.Containing(Utc(2028, 1, anchorDay), UsageWindow.Month);
        var days = new List<int>();
        for (int i = 0; i < expectedDays.Length; i++)
        {
            days.Add(period.Start.Day);
            period.Start.Month.Should().Be(i % 12 + 1);
            period = calendar.Next(period, UsageWindow.Month);
        }

        days.Should().Equal(expectedDays);
    }

    [Test]
    public void Previous_MonthAnchorOn29th_WalksBackThroughNonLeapFebruary()
    {
        var calendar = Calendar("UTC", Utc(2028, 2, 29));
        var period = calendar.Containing(Utc(2027, 4, 1), UsageWindow.Month);
        ShouldBe(period, Utc(2027, 3, 29), Utc(2027, 4, 29));

        period = calendar.Previous(period, UsageWindow.Month);
        ShouldBe(period, Utc(2027, 2, 28), Utc(2027, 3, 29));

        period = calendar.Previous(period, UsageWindow.Month);
        ShouldBe(period, Utc(2027, 1, 29), Utc(2027, 2, 28));
    }

    [Test]
    public void Containing_YearAnchorOnFebruary29_ClampsInNonLeapYears()
    {
        var calendar = Calendar("UTC", Utc(2028, 2, 29, 8));
        var period = calendar.Containing(Utc(2028, 3, 1), UsageWindow.Year);
        var starts = new List<DateTimeOffset>();
        for (int i = 0; i < 5; i++)
        {
            starts.Add(period.Start);
            period = calendar.Next(period, UsageWindow.Year);
        }

        starts.Should().Equal(Utc(2028, 2, 29), Utc(2029, 2, 28), Utc(2030, 2, 28), Utc(2031, 2, 28), Utc(2032, 2, 29));
    }

    [Test]
    public void Containing_BeforeTheAnchor_PeriodsExtendBackwards()
    {
        var calendar = Calendar("UTC", Utc(2026, 6, 15, 12));

        ShouldBe(calendar.Containing(Utc(2020, 1, 1), UsageWindow.Month), Utc(2019, 12, 15), Utc(2020, 1, 15));
        ShouldBe(calendar.Containing(Utc(2020, 1, 1), UsageWindow.Year), Utc(2019, 6, 15), Utc(2020, 6, 15));
    }

    [Test]
    public void Constructor_AnchorLocalDate_SetsWeekAndMonthStarts()
    {
        // 31 January 23:30 in New York is 1 February in UTC: the zone's local date (Saturday the 31st) counts.
        var anchor = At(2026, 1, 31, 23, 30, Est);
        var newYork = Calendar("America/New_York", anchor);
        var utc = Calendar("UTC", anchor);

        newYork.Containing(Utc(2026, 3, 10, 12), UsageWindow.Month).Start.Should().BeExactly(At(2026, 2, 28, 0, 0, Est));
        newYork.Containing(Utc(2026, 3, 10, 12), UsageWindow.Week).Start.Should().BeExactly(At(2026, 3, 7, 0, 0, Est));
        utc.Containing(Utc(2026, 3, 10, 12), UsageWindow.Month).Start.Should().BeExactly(Utc(2026, 3, 1));
        utc.Containing(Utc(2026, 3, 10, 12), UsageWindow.Week).Start.Should().BeExactly(Utc(2026, 3, 8));
        newYork.Anchor.Should().BeExactly(anchor);
        newYork.TimeZone.Id.Should().Be("America/New_York");
    }

    [Test]
    public void Previous_AtDaylightSavingTransition_EndsWhereThePeriodStarts()
    {
        var calendar = Calendar("America/New_York");
        var day = calendar.Containing(At(2026, 3, 9, 12, 0, Edt), UsageWindow.Day);

        ShouldBe(calendar.Previous(day, UsageWindow.Day), At(2026, 3, 8, 0, 0, Est), At(2026, 3, 9, 0, 0, Edt));
    }

    [Test]
    public void Containing_SteadyState_AllocatesNothing()
    {
        // Not a benchmark: the allocation counter is exact, so this guards the hot-path claim in the docs, gaps and overlaps included.
        PeriodCalendar[] calendars = [Calendar("UTC"), Calendar("America/New_York"), Calendar("Australia/Lord_Howe"), Calendar("America/Havana")];
        DateTimeOffset[] instants = [Utc(2026, 3, 8, 6, 59), Utc(2026, 11, 1, 5, 30), Utc(2026, 4, 4, 15, 10), Utc(2026, 3, 8, 12)];
        long checksum = 0;
        void Run()
        {
            foreach (var calendar in calendars)
            {
                foreach (var instant in instants)
                {
                    for (var window = UsageWindow.Hour; window <= UsageWindow.Second; window++)
                    {
                        checksum += calendar.Containing(instant, window).Start.UtcTicks;
                    }
                }
            }
        }

        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        allocated.Should().Be(0);
        checksum.Should().NotBe(0);
    }

    [Test]
    public void Containing_UndefinedWindow_ThrowsWithParamName()
    {
        var calendar = Calendar("UTC");
        var period = calendar.Containing(Utc(2026, 1, 1), UsageWindow.Day);

        calendar.Invoking(c => c.Containing(Utc(2026, 1, 1), (UsageWindow)7)).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("window");
        calendar.Invoking(c => c.Containing(Utc(2026, 1, 1), (UsageWindow)(-1))).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("window");
        calendar.Invoking(c => c.Next(period, (UsageWindow)9)).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("window");
        calendar.Invoking(c => c.Previous(period, (UsageWindow)9)).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("window");
    }

    [Test]
    public void Next_MinuteWindowPassedAsASecondWindow_ThrowsArgumentException()
    {
        var calendar = Calendar("UTC");
        var minute = calendar.Containing(Utc(2026, 5, 5, 12, 30), UsageWindow.Minute);
        var second = calendar.Containing(Utc(2026, 5, 5, 12, 30), UsageWindow.Second);

        calendar.Invoking(c => c.Next(minute, UsageWindow.Second)).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("period");
        calendar.Invoking(c => c.Previous(second, UsageWindow.Minute)).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("period");
        calendar.Next(minute, UsageWindow.Minute).Start.Should().Be(Utc(2026, 5, 5, 12, 31));
        calendar.Previous(second, UsageWindow.Second).Start.Should().Be(Utc(2026, 5, 5, 12, 30).AddSeconds(-1));
    }

    [Test]
    public void FromTimeZoneId_UnknownId_ThrowsArgumentExceptionNamingTheId()
    {
        var act = () => PeriodCalendar.FromTimeZoneId("Mars/Olympus_Mons", Utc(2026, 1, 1));

        var ex = act.Should().Throw<ArgumentException>().Which;
        ex.ParamName.Should().Be("timeZoneId");
        ex.Message.Should().Contain("'Mars/Olympus_Mons'");
        ex.InnerException.Should().BeOfType<TimeZoneNotFoundException>();
    }

    [Test]
    public void FromTimeZoneId_NullOrBlank_Throws()
    {
        FluentActions.Invoking(() => PeriodCalendar.FromTimeZoneId(null!, Utc(2026, 1, 1))).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("timeZoneId");
        FluentActions.Invoking(() => PeriodCalendar.FromTimeZoneId(" ", Utc(2026, 1, 1))).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("timeZoneId");
        FluentActions.Invoking(() => new PeriodCalendar(null!, Utc(2026, 1, 1))).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("timeZone");
    }

    [Test]
    public void Containing_InstantOutsideSupportedRange_Throws()
    {
        var calendar = Calendar("UTC");

        calendar.Invoking(c => c.Containing(DateTimeOffset.MinValue, UsageWindow.Year)).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("instant");
        calendar.Invoking(c => c.Containing(DateTimeOffset.MaxValue, UsageWindow.Year)).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("instant");
        FluentActions.Invoking(() => new PeriodCalendar(TimeZoneInfo.Utc, DateTimeOffset.MinValue)).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("anchor");
    }

    [Test]
    public void Next_PeriodFromAnotherCalendar_ThrowsArgumentException()
    {
        var utc = Calendar("UTC");
        var newYork = Calendar("America/New_York");
        var period = utc.Containing(Utc(2026, 5, 5), UsageWindow.Day);

        newYork.Invoking(c => c.Next(period, UsageWindow.Day)).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("period");
        utc.Invoking(c => c.Previous(period, UsageWindow.Week)).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("period");
        utc.Invoking(c => c.Next(default, UsageWindow.Day)).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("period");
    }
}
