using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Rating;

[TestFixture]
public sealed class PricingTests
{
    private static ResolvedRate Resolve(ModelRate rate)
    {
        RateCard.Create([rate]).TryResolve(rate.Model, out ResolvedRate resolved).Should().BeTrue();
        return resolved;
    }

    private static ResolvedRate Flat(decimal input, decimal output, decimal? cached = null, decimal? reasoning = null) =>
        Resolve(new ModelRate { Model = "m", InputPerMillion = input, OutputPerMillion = output, CachedInputPerMillion = cached, ReasoningPerMillion = reasoning });

    [Test]
    public void Price_WorkedCase_IsExactToTheLastUnit()
    {
        // 1,234 × 2.50 / 1,000,000 = 0.003085 and 567 × 10.00 / 1,000,000 = 0.005670; total 0.008755 = 8,755 units at scale 6.
        var price = Pricing.Price(Flat(2.50m, 10.00m), new TokenUsage(1_234, 0, 567, 0), 0, 6);

        price.Should().Be(CreditAmount.FromUnits(8_755, 6));
        price.ToString().Should().Be("0.008755");
    }

    [TestCase(4, 88L)] // 0.008755 rounds up to 0.0088
    [TestCase(2, 1L)] // 0.008755 rounds up to 0.01
    [TestCase(0, 1L)] // 0.008755 rounds up to 1
    [TestCase(9, 8_755_000L)] // exact, scaled up
    public void Price_FinerThanTheScale_RoundsUpOnce(int scale, long units)
    {
        Pricing.Price(Flat(2.50m, 10.00m), new TokenUsage(1_234, 0, 567, 0), 0, scale).Should().Be(CreditAmount.FromUnits(units, scale));
    }

    [Test]
    public void Price_OneTenthOfAUnit_RoundsUpToOneUnit()
    {
        // One token at 0.1 per million is 0.0000001 credits, below the smallest unit at scale 6 (0.000001).
        Pricing.Price(Flat(0.1m, 0m), new TokenUsage(1, 0, 0, 0), 0, 6).Should().Be(CreditAmount.FromUnits(1, 6));
    }

    [Test]
    public void Price_RoundsTheTotalNotEachKind()
    {
        // Each kind costs 0.0000004; rounding each up would charge 0.000004 (4 units), the total 0.0000016 rounds up to 2.
        var usage = new TokenUsage(1, 1, 1, 1);

        Pricing.Price(Flat(0.4m, 0.4m), usage, 0, 6).Units.Should().Be(2);
    }

    [Test]
    public void Price_CachedAndReasoning_DefaultToInputAndOutput()
    {
        // 1,000 × (1 + 1 + 4 + 4) / 1,000,000 = 0.01.
        Pricing.Price(Flat(1m, 4m), new TokenUsage(1_000, 1_000, 1_000, 1_000), 0, 6).ToDecimal().Should().Be(0.01m);

        // 1,000 × (1 + 0.25 + 4 + 16) / 1,000,000 = 0.02125.
        Pricing.Price(Flat(1m, 4m, cached: 0.25m, reasoning: 16m), new TokenUsage(1_000, 1_000, 1_000, 1_000), 0, 6).ToDecimal().Should().Be(0.02125m);
    }

    [Test]
    public void Price_ZeroTokens_IsZero()
    {
        Pricing.Price(Flat(2.5m, 10m), default, 0, 6).Should().Be(CreditAmount.Zero(6));
        Pricing.Price(Tiered(), default, 999_000, 2).Should().Be(CreditAmount.Zero(2));
        Pricing.OveragePrice(0, 0.0002m, 6).Should().Be(CreditAmount.Zero(6));
    }

    [Test]
    public void Price_CrossingATierInsideOneRequest_SplitsAtTheBound()
    {
        // 999,000 of the first 1,000,000 tokens are used: 1,000 tokens at 2.00 (0.002) and 4,000 beyond it at 1.00 (0.004).
        Pricing.Price(Tiered(), new TokenUsage(5_000, 0, 0, 0), 999_000, 6).ToDecimal().Should().Be(0.006m);
    }

    [Test]
    public void Price_CrossingATier_CountsKindsTogetherInFieldOrder()
    {
        // Input first: 1,000 input at 2.00 (0.002), then 2,000 input at 1.00 (0.002), then 2,000 output at 4.00 (0.008).
        Pricing.Price(Tiered(), new TokenUsage(3_000, 0, 2_000, 0), 999_000, 6).ToDecimal().Should().Be(0.012m);

        // Cached input comes after input: 500 input at 2.00 (0.001), 500 cached at 0.50 (0.00025), 1,500 cached at 0.25 (0.000375).
        Pricing.Price(Tiered(), new TokenUsage(500, 2_000, 0, 0), 999_000, 6).ToDecimal().Should().Be(0.001625m);
    }

    [Test]
    public void Price_ThreeTiers_PricesEachSegmentAndTheUnboundedLastTier()
    {
        var rate = new ModelRate { Model = "m", InputPerMillion = 1_000m };
        rate.Tiers.Add(new RateTier { UpToTokens = 100, InputPerMillion = 3m });
        rate.Tiers.Add(new RateTier { UpToTokens = 200, InputPerMillion = 2m });
        rate.Tiers.Add(new RateTier { InputPerMillion = 1m });

        // From 50: 50 at 3, 100 at 2, 850 at 1 = 150 + 200 + 850 = 1,200 per million = 0.0012. The rate's own 1,000 is never used.
        Pricing.Price(Resolve(rate), new TokenUsage(1_000, 0, 0, 0), 50, 6).ToDecimal().Should().Be(0.0012m);

        // Starting exactly on a bound uses the next tier.
        Pricing.Price(Resolve(rate), new TokenUsage(100, 0, 0, 0), 100, 6).ToDecimal().Should().Be(0.0002m);
        Pricing.Price(Resolve(rate), new TokenUsage(10, 0, 0, 0), long.MaxValue - 5, 9).ToDecimal().Should().Be(0.00001m);
    }

    [Test]
    public void Price_PastTheLastBoundedTier_UsesTheRatesOwnPrices()
    {
        Pricing.Price(Tiered(), new TokenUsage(1_000_000, 0, 0, 0), 5_000_000, 6).ToDecimal().Should().Be(1m);
        Pricing.Price(Tiered(), new TokenUsage(1_000_000, 0, 0, 0), 0, 6).ToDecimal().Should().Be(2m);
    }

    [Test]
    public void Price_TooLargeForTheScale_ThrowsOverflowNamingTheModel()
    {
        var rate = Flat(1_000_000m, 0m);

        Action act = () => Pricing.Price(rate, new TokenUsage(long.MaxValue, 0, 0, 0), 0, 6);

        act.Should().Throw<OverflowException>().WithMessage("The price of m does not fit in a 64-bit count of units at scale 6*");
    }

    [Test]
    public void Price_JustBelowTheLimit_DoesNotOverflow()
    {
        // long.MaxValue tokens at 1 per million at scale 6 is exactly long.MaxValue units.
        Pricing.Price(Flat(1m, 1m), new TokenUsage(long.MaxValue, 0, 0, 0), 0, 6).Units.Should().Be(long.MaxValue);

        Action plusOne = () => Pricing.Price(Flat(1m, 1m), new TokenUsage(long.MaxValue, 0, 1, 0), 0, 6);
        plusOne.Should().Throw<OverflowException>();
    }

    [Test]
    public void Price_PricesBeyond128Bits_AreStillExact()
    {
        // The largest decimal and a price with 28 decimal places need more than 128 bits at one common scale.
        var rate = Flat(decimal.MaxValue, 0m, cached: 0.0000000000000000000000000001m);

        Pricing.Price(rate, new TokenUsage(0, 1, 0, 0), 0, 18).Units.Should().Be(1);
        Pricing.Price(rate, new TokenUsage(0, long.MaxValue, 0, 0), 0, 0).Units.Should().Be(1);
        Action act = () => Pricing.Price(rate, new TokenUsage(1, 0, 0, 0), 0, 0);
        act.Should().Throw<OverflowException>();
    }

    [Test]
    public void Price_NegativeCount_ThrowsNamingTheField()
    {
        var rate = Flat(1m, 1m);

        ((Action)(() => Pricing.Price(rate, new TokenUsage(-1, 0, 0, 0), 0, 6))).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("InputTokens");
        ((Action)(() => Pricing.Price(rate, new TokenUsage(0, -1, 0, 0), 0, 6))).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("CachedInputTokens");
        ((Action)(() => Pricing.Price(rate, new TokenUsage(0, 0, -1, 0), 0, 6))).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("OutputTokens");
        ((Action)(() => Pricing.Price(rate, new TokenUsage(0, 0, 0, -1), 0, 6))).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("ReasoningTokens");
        ((Action)(() => Pricing.Cost(rate, new TokenUsage(0, 0, 0, -1), 6))).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("ReasoningTokens");
        ((Action)(() => Pricing.Price(rate, default, -1, 6))).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("tokensAlreadyUsedInPeriod");
        ((Action)(() => Pricing.Price(rate, default, 0, 19))).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("scale");
    }

    [Test]
    public void Price_DefaultRate_Throws()
    {
        Action act = () => Pricing.Price(default, new TokenUsage(1, 0, 0, 0), 0, 6);
        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("rate");
    }

    [Test]
    public void Cost_WorkedCase_RoundsUpAndGivesTheMargin()
    {
        var rate = Resolve(new ModelRate
        {
            Model = "gpt-4o",
            InputPerMillion = 3m,
            OutputPerMillion = 12m,
            CreditType = "usd",
            CostBasis = new VendorCost { Currency = "USD", InputPerMillion = 2.50m, CachedInputPerMillion = 1.25m, OutputPerMillion = 10m },
        });
        var usage = new TokenUsage(1_234, 100, 567, 0);

        // Price: (1,234 + 100) × 3 + 567 × 12 = 4,002 + 6,804 = 10,806 per million = 0.010806.
        // Cost: 1,234 × 2.50 + 100 × 1.25 + 567 × 10 = 3,085 + 125 + 5,670 = 8,880 per million = 0.00888.
        CreditAmount price = Pricing.Price(rate, usage, 0, 6);
        decimal? cost = Pricing.Cost(rate, usage, 6);

        rate.CostCurrency.Should().Be("USD");
        price.ToDecimal().Should().Be(0.010806m);
        cost.Should().Be(0.00888m);
        (price.ToDecimal() - cost!.Value).Should().Be(0.001926m);
        Pricing.Cost(rate, usage, 2).Should().Be(0.01m);
    }

    [Test]
    public void Cost_WithoutCostBasis_IsNull()
    {
        var rate = Flat(1m, 1m);

        rate.CostCurrency.Should().BeNull();
        Pricing.Cost(rate, new TokenUsage(1, 0, 0, 0), 6).Should().BeNull();
    }

    [TestCase(1_234L, "0.0002", 6, 246_800L)] // 0.2468
    [TestCase(1_234L, "0.0002", 2, 25L)] // 0.2468 rounds up to 0.25
    [TestCase(1L, "0.0000001", 6, 1L)] // 0.0000001 rounds up to 0.000001
    [TestCase(3L, "0.333333", 0, 1L)] // 0.999999 rounds up to 1
    [TestCase(5L, "2", 0, 10L)]
    [TestCase(long.MaxValue, "0.000001", 6, long.MaxValue)]
    public void OveragePrice_IsExactAndRoundsUpOnce(long units, string rate, int scale, long expected)
    {
        decimal perUnit = decimal.Parse(rate, System.Globalization.CultureInfo.InvariantCulture);

        Pricing.OveragePrice(units, perUnit, scale).Should().Be(CreditAmount.FromUnits(expected, scale));
    }

    [Test]
    public void OveragePrice_BadInputOrOverflow_Throws()
    {
        ((Action)(() => Pricing.OveragePrice(-1, 1m, 6))).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("units");
        ((Action)(() => Pricing.OveragePrice(1, -1m, 6))).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("ratePerUnit");
        ((Action)(() => Pricing.OveragePrice(1, 1m, -1))).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("scale");
        ((Action)(() => Pricing.OveragePrice(long.MaxValue, 1m, 6))).Should().Throw<OverflowException>().WithMessage("The price of an overage does not fit*");
        ((Action)(() => Pricing.OveragePrice(long.MaxValue, decimal.MaxValue, 0))).Should().Throw<OverflowException>();
    }

    [TestCase(999_000L, 0.010000)] // starts in tier 1: all 5,000 at 2.00 per million, not split at the bound
    [TestCase(1_000_000L, 0.005000)] // starts in tier 2: all at 1.00
    [TestCase(0L, 0.010000)]
    public void Price_VolumeTiers_PriceTheWholeRequestAtTheTierItStartsIn(long position, double expected)
    {
        Pricing.Price(Tiered(TierMode.Volume), new TokenUsage(5_000, 0, 0, 0), position, 6).ToDecimal().Should().Be((decimal)expected);
        Pricing.Price(Tiered(TierMode.Volume), new TokenUsage(3_000, 0, 2_000, 0), position, 6).ToDecimal()
            .Should().Be(position < 1_000_000 ? 0.022m : 0.011m, "every kind at the same tier's price");
    }

    private static ResolvedRate Tiered(TierMode mode = TierMode.Graduated)
    {
        // The first 1,000,000 tokens of the period at 2.00 input / 0.50 cached / 8.00 output, then 1.00 / 0.25 / 4.00.
        var rate = new ModelRate { Model = "m", InputPerMillion = 1m, CachedInputPerMillion = 0.25m, OutputPerMillion = 4m, TierMode = mode };
        rate.Tiers.Add(new RateTier { UpToTokens = 1_000_000, InputPerMillion = 2m, CachedInputPerMillion = 0.5m, OutputPerMillion = 8m });
        return Resolve(rate);
    }
}
