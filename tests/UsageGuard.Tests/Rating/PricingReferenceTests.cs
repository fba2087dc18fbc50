using System.Numerics;
using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Rating;

/// <summary>Random rates, tiers and usages priced by <see cref="Pricing"/> and by a plain BigInteger reference written here.</summary>
[TestFixture]
public sealed class PricingReferenceTests
{
    // Every generated price has at most this many decimal places, so the reference works at one fixed scale.
    private const int PriceDigits = 8;
    private static readonly BigInteger PerMillion = 1_000_000;

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(20240611)]
    public void Price_RandomRatesAndUsages_EqualsTheReference(int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < 2_000; i++)
        {
            var (rate, segments) = RandomRate(random);
            var usage = new TokenUsage(Count(random), Count(random), Count(random), Count(random));
            long already = random.Next(4) == 0 ? random.NextInt64(long.MaxValue) : random.NextInt64(3_000_000);
            int scale = random.Next(19);
            string context = $"seed {seed}, case {i}: {usage}, already {already}, scale {scale}";

            BigInteger expected = ReferenceUnits(segments, usage, already, scale);
            RateCard.Create([rate]).TryResolve("m", out ResolvedRate resolved).Should().BeTrue();
            Func<CreditAmount> price = () => Pricing.Price(resolved, usage, already, scale);
            if (expected > long.MaxValue)
            {
                price.Should().Throw<OverflowException>(context);
            }
            else
            {
                price().Units.Should().Be((long)expected, context);
            }
        }
    }

    [TestCase(3)]
    [TestCase(4)]
    public void OveragePrice_RandomUnitsAndRates_EqualsTheReference(int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < 2_000; i++)
        {
            long units = random.Next(3) == 0 ? random.NextInt64(long.MaxValue) : random.NextInt64(10_000_000);
            (long mantissa, int digits) = (random.NextInt64(100_000_000), random.Next(PriceDigits + 1));
            int scale = random.Next(19);
            decimal perUnit = new decimal(mantissa) / Pow10Decimal(digits);

            BigInteger exact = (BigInteger)units * mantissa;
            BigInteger expected = CeilingDivide(exact * BigInteger.Pow(10, scale), BigInteger.Pow(10, digits));
            Func<CreditAmount> price = () => Pricing.OveragePrice(units, perUnit, scale);
            if (expected > long.MaxValue)
            {
                price.Should().Throw<OverflowException>();
            }
            else
            {
                price().Units.Should().Be((long)expected, $"seed {seed}, case {i}: {units} × {perUnit} at scale {scale}");
            }
        }
    }

    private static long Count(Random random) => random.Next(10) switch
    {
        0 => 0,
        1 => random.NextInt64(long.MaxValue / 4),
        _ => random.NextInt64(2_000_000),
    };

    private static (ModelRate Rate, List<Segment> Segments) RandomRate(Random random)
    {
        var rate = new ModelRate { Model = "m" };
        var segments = new List<Segment>();
        int tiers = random.Next(4);
        bool lastUnbounded = tiers > 0 && random.Next(2) == 0;
        long bound = 0;
        for (int t = 0; t < tiers; t++)
        {
            var tier = new RateTier();
            long? upTo = null;
            if (!(lastUnbounded && t == tiers - 1))
            {
                bound += 1 + random.NextInt64(1_500_000);
                upTo = bound;
            }

            tier.UpToTokens = upTo;
            BigInteger[] prices = RandomPrices(random, out decimal input, out decimal? cached, out decimal output, out decimal? reasoning);
            (tier.InputPerMillion, tier.CachedInputPerMillion, tier.OutputPerMillion, tier.ReasoningPerMillion) = (input, cached, output, reasoning);
            rate.Tiers.Add(tier);
            segments.Add(new Segment(upTo, prices));
        }

        BigInteger[] own = RandomPrices(random, out decimal i2, out decimal? c2, out decimal o2, out decimal? r2);
        (rate.InputPerMillion, rate.CachedInputPerMillion, rate.OutputPerMillion, rate.ReasoningPerMillion) = (i2, c2, o2, r2);
        if (!lastUnbounded)
        {
            segments.Add(new Segment(null, own));
        }

        return (rate, segments);
    }

    // Prices as integers at PriceDigits decimal places, in kind order, with null cached and reasoning taking input and output.
    private static BigInteger[] RandomPrices(Random random, out decimal input, out decimal? cached, out decimal output, out decimal? reasoning)
    {
        (decimal value, BigInteger atScale) Price()
        {
            long mantissa = random.Next(5) == 0 ? 0 : random.NextInt64(10_000_000_000);
            int digits = random.Next(PriceDigits + 1);
            return (new decimal(mantissa) / Pow10Decimal(digits), mantissa * BigInteger.Pow(10, PriceDigits - digits));
        }

        var i = Price();
        var c = random.Next(2) == 0 ? ((decimal, BigInteger)?)null : Price();
        var o = Price();
        var r = random.Next(2) == 0 ? ((decimal, BigInteger)?)null : Price();
        (input, cached, output, reasoning) = (i.value, c?.Item1, o.value, r?.Item1);
        return [i.atScale, c?.Item2 ?? i.atScale, o.atScale, r?.Item2 ?? o.atScale];
    }

    // The straightforward definition: for each kind in order, the overlap of its token positions with each segment.
    private static BigInteger ReferenceUnits(List<Segment> segments, TokenUsage usage, long already, int scale)
    {
        long[] counts = [usage.InputTokens, usage.CachedInputTokens, usage.OutputTokens, usage.ReasoningTokens];
        BigInteger position = already;
        BigInteger sum = 0;
        for (int kind = 0; kind < 4; kind++)
        {
            BigInteger start = position;
            BigInteger end = position + counts[kind];
            BigInteger low = 0;
            foreach (Segment segment in segments)
            {
                BigInteger high = segment.UpTo ?? end;
                BigInteger overlap = BigInteger.Max(0, BigInteger.Min(high, end) - BigInteger.Max(low, start));
                sum += overlap * segment.Prices[kind];
                low = high;
            }

            position = end;
        }

        return CeilingDivide(sum * BigInteger.Pow(10, scale), BigInteger.Pow(10, PriceDigits) * PerMillion);
    }

    private static BigInteger CeilingDivide(BigInteger numerator, BigInteger denominator)
    {
        BigInteger quotient = BigInteger.DivRem(numerator, denominator, out BigInteger remainder);
        return remainder.IsZero ? quotient : quotient + 1;
    }

    private static decimal Pow10Decimal(int digits)
    {
        decimal value = 1m;
        for (int i = 0; i < digits; i++)
        {
            value *= 10m;
        }

        return value;
    }

    private sealed record Segment(long? UpTo, BigInteger[] Prices);
}
