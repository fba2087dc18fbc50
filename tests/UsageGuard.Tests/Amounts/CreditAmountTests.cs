using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Amounts;

[TestFixture]
public sealed class CreditAmountTests
{
    [TestCase("1.5", 6, 1_500_000L)]
    [TestCase("-0.000001", 6, -1L)]
    [TestCase("12", 0, 12L)]
    [TestCase("9223372036854.775807", 6, long.MaxValue)]
    public void FromDecimal_IsExact(string value, int scale, long units)
    {
        var amount = CreditAmount.FromDecimal(decimal.Parse(value, System.Globalization.CultureInfo.InvariantCulture), scale);

        amount.Units.Should().Be(units);
        amount.ToDecimal().Should().Be(decimal.Parse(value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [TestCase("1.500", 6, 1_500_000L)]
    [TestCase("1.5000000", 6, 1_500_000L)]
    [TestCase("-9223372036854.775808", 6, long.MinValue)]
    [TestCase("18446744073709551615", 0, null)]
    [TestCase("9223372036854775808", 0, null)]
    [TestCase("-9223372036854775808", 0, long.MinValue)]
    [TestCase("0.000000", 2, 0L)]
    public void FromDecimal_AtTheEdgesOfTheFastPath_IsExactOrThrows(string value, int scale, long? units)
    {
        decimal d = decimal.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
        Func<CreditAmount> convert = () => CreditAmount.FromDecimal(d, scale);
        if (units is null)
        {
            convert.Should().Throw<OverflowException>();
        }
        else
        {
            convert().Units.Should().Be(units.Value);
        }
    }

    [Test]
    public void FromDecimal_MorePlacesThanTheScale_ThrowsInsteadOfRounding()
    {
        Action act = () => CreditAmount.FromDecimal(0.1234567m, 6);
        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("value");
    }

    [Test]
    public void Arithmetic_IsChecked()
    {
        var max = CreditAmount.FromUnits(long.MaxValue, 6);
        var one = CreditAmount.FromUnits(1, 6);

        ((Action)(() => _ = max + one)).Should().Throw<OverflowException>();
        ((Action)(() => _ = -CreditAmount.FromUnits(long.MinValue, 6))).Should().Throw<OverflowException>();
        ((Action)(() => CreditAmount.FromDecimal(10_000_000_000_000m, 6))).Should().Throw<OverflowException>();
        ((Action)(() => _ = one + CreditAmount.FromUnits(1, 2))).Should().Throw<ArgumentException>();
        (one + one).Units.Should().Be(2);
        (one - max).Units.Should().Be(1 - long.MaxValue);
    }

    [Test]
    public void ToString_PrintsTheScaleInvariantly()
    {
        CreditAmount.FromDecimal(12.5m, 6).ToString().Should().Be("12.500000");
        CreditAmount.FromUnits(long.MinValue, 4).ToDecimal().Should().Be(-922337203685477.5808m);
    }

    [Test]
    public void FormatUtf8_WritesWhatTheDecimalWrites_AtEveryScale_EdgesIncluded()
    {
        var random = new Random(8);
        Span<byte> text = stackalloc byte[FixedPoint.MaxUtf8Length];
        long[] edges = [0, 1, -1, 9, 10, -10, long.MaxValue, long.MinValue, long.MinValue + 1, 999_999, 1_000_000, -1_000_001];
        for (int scale = 0; scale <= FixedPoint.MaxScale; scale++)
        {
            foreach (long units in edges.Concat(Enumerable.Range(0, 200).Select(_ => random.NextInt64(long.MinValue, long.MaxValue) >> random.Next(0, 63))))
            {
                int length = FixedPoint.FormatUtf8(units, scale, text);
                string expected = FixedPoint.ToDecimal(units, scale).ToString(System.Globalization.CultureInfo.InvariantCulture);
                System.Text.Encoding.UTF8.GetString(text[..length]).Should().Be(expected, $"{units} at scale {scale}");
            }
        }
    }
}
