using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Periods;

[TestFixture]
public sealed class ProrationTests
{
    private static readonly DateTimeOffset CycleStart = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly UsagePeriod Cycle = new(CycleStart, CycleStart.AddDays(30));

    [Test]
    public void Remaining_PlanChangeOnDay14Of30_Is16Of30InTicks()
    {
        var (numerator, denominator) = PeriodCalendar.Remaining(Cycle, CycleStart.AddDays(14));

        numerator.Should().Be(TimeSpan.FromDays(16).Ticks);
        denominator.Should().Be(TimeSpan.FromDays(30).Ticks);
    }

    [Test]
    public void Prorate_1000UnitsWith16Of30Left_RoundsTowardZeroTo533()
    {
        // Exact share 533.33…: toward zero gives 533; the elapsed part is the complement, 467, so the two add up to 1000.
        long remaining = PeriodCalendar.Prorate(1000, Cycle, CycleStart.AddDays(14));

        remaining.Should().Be(533);
        (1000 - remaining).Should().Be(467);
        PeriodCalendar.Prorate(-1000, Cycle, CycleStart.AddDays(14)).Should().Be(-533);
    }

    [Test]
    public void Prorate_Tier1ToTier2OnDay14_ChargesTheDifferenceForTheRemainingDays()
    {
        // Tier 1 allows 30,000 credits a cycle and Tier 2 45,000; moving up with 16 of 30 days left grants 16/30 of the
        // difference: 15,000 × 16 / 30 = 8,000 exactly.
        PeriodCalendar.Prorate(45_000 - 30_000, Cycle, CycleStart.AddDays(14)).Should().Be(8_000);

        // One tick into the cycle the share is just below the whole: rounding toward zero never gives the last unit away.
        PeriodCalendar.Prorate(1000, Cycle, CycleStart.AddTicks(1)).Should().Be(999);
        PeriodCalendar.Prorate(1000, Cycle, Cycle.End.AddTicks(-1)).Should().Be(0);
    }

    [Test]
    public void Remaining_OutsideThePeriod_ClampsToWholeOrNothing()
    {
        long length = TimeSpan.FromDays(30).Ticks;

        PeriodCalendar.Remaining(Cycle, CycleStart.AddDays(-3)).Should().Be((length, length));
        PeriodCalendar.Remaining(Cycle, CycleStart).Should().Be((length, length));
        PeriodCalendar.Remaining(Cycle, Cycle.End).Should().Be((0L, length));
        PeriodCalendar.Remaining(Cycle, Cycle.End.AddYears(5)).Should().Be((0L, length));
        PeriodCalendar.Prorate(1000, Cycle, CycleStart.AddDays(-3)).Should().Be(1000);
        PeriodCalendar.Prorate(1000, Cycle, Cycle.End).Should().Be(0);
    }

    [Test]
    public void Prorate_ExtremeUnits_IsExactWithoutOverflow()
    {
        var half = CycleStart.AddDays(15);

        PeriodCalendar.Prorate(long.MaxValue, Cycle, half).Should().Be(long.MaxValue / 2);
        PeriodCalendar.Prorate(long.MinValue, Cycle, half).Should().Be(long.MinValue / 2);
        PeriodCalendar.Prorate(long.MaxValue, Cycle, CycleStart).Should().Be(long.MaxValue);
        PeriodCalendar.Prorate(long.MinValue, Cycle, CycleStart).Should().Be(long.MinValue);

        // long.MaxValue × 16 / 30 computed by hand: 9,223,372,036,854,775,807 × 8 / 15 = 4,919,131,752,989,213,763.7…
        PeriodCalendar.Prorate(long.MaxValue, Cycle, CycleStart.AddDays(14)).Should().Be(4_919_131_752_989_213_763);
    }

    [Test]
    public void Prorate_MonthWithSpringForward_WeighsByElapsedHours()
    {
        // March 2026 in New York lasts 31 days less one hour (743 hours). From 15 March 00:00 EDT, 17 days (408 hours) are left.
        var calendar = PeriodCalendar.FromTimeZoneId("America/New_York", new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.FromHours(-5)));
        var at = new DateTimeOffset(2026, 3, 15, 0, 0, 0, TimeSpan.FromHours(-4));
        var march = calendar.Containing(at, UsageWindow.Month);

        march.Start.Should().BeExactly(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.FromHours(-5)));
        march.Length.Should().Be(TimeSpan.FromHours(743));
        PeriodCalendar.Remaining(march, at).Should().Be((TimeSpan.FromHours(408).Ticks, TimeSpan.FromHours(743).Ticks));
        PeriodCalendar.Prorate(743, march, at).Should().Be(408);
        PeriodCalendar.Prorate(1000, march, at).Should().Be(549);
    }

    [Test]
    public void Remaining_EmptyPeriod_Throws()
    {
        FluentActions.Invoking(() => PeriodCalendar.Remaining(default, CycleStart)).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("period");
        FluentActions.Invoking(() => PeriodCalendar.Prorate(1, default, CycleStart)).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("period");
    }
}
