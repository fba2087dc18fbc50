using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Periods;

[TestFixture]
public sealed class UsagePeriodTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    [Test]
    public void Contains_HalfOpen_IncludesStartExcludesEnd()
    {
        var period = new UsagePeriod(Start, Start.AddDays(1));

        period.Contains(Start).Should().BeTrue();
        period.Contains(Start.AddDays(1).AddTicks(-1)).Should().BeTrue();
        period.Contains(Start.AddDays(1)).Should().BeFalse();
        period.Contains(Start.AddTicks(-1)).Should().BeFalse();
        period.Length.Should().Be(TimeSpan.FromDays(1));
    }

    [Test]
    public void Equals_SameInstantsInOtherOffsets_AreEqual()
    {
        var utc = new UsagePeriod(Start, Start.AddHours(1));
        var local = new UsagePeriod(Start.ToOffset(TimeSpan.FromHours(-5)), Start.AddHours(1).ToOffset(new TimeSpan(5, 45, 0)));

        local.Should().Be(utc);
        local.Start.Offset.Should().Be(TimeSpan.FromHours(-5));
    }

    [Test]
    public void Constructor_EndNotAfterStart_Throws()
    {
        FluentActions.Invoking(() => new UsagePeriod(Start, Start)).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("End");
        FluentActions.Invoking(() => new UsagePeriod(Start, Start.AddTicks(-1))).Should().Throw<ArgumentException>();
    }
}
