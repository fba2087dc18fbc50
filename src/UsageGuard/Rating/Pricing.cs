using System.Numerics;

namespace UsageGuard;

/// <summary>Turns token usage into credits with a <see cref="ResolvedRate"/>, exactly, with one rounding rule.</summary>
/// <remarks>
/// <para><b>Exact.</b> The sum of tokens × price per million ÷ 1,000,000 over every token kind and tier is computed
/// as an exact integer (128-bit, or arbitrary precision when that could overflow); no <see cref="double"/> and no
/// intermediate rounding.</para>
/// <para><b>One rounding rule.</b> The exact total is rounded <i>up</i> (toward positive infinity) to the scale of
/// the credit type, once, on the total rather than per token kind or tier: nobody is under-charged, the result is
/// at most one unit above the exact value, and rounding never compounds. An exact total of zero is zero.</para>
/// <para>All methods are pure and thread-safe, and they allocate nothing unless a product needs more than 128 bits.</para>
/// </remarks>
public static class Pricing
{
    /// <summary>Prices token usage in the rate's credit type, rounded up once to <paramref name="scale"/>.</summary>
    /// <param name="rate">The rate, from <see cref="RateCard.TryResolve"/>.</param>
    /// <param name="usage">The tokens used; every count must be zero or more.</param>
    /// <param name="tokensAlreadyUsedInPeriod">The tokens of all kinds already priced with this rate in the current usage period, which places the usage on the rate's tiers; 0 when the rate has no tiers.</param>
    /// <param name="scale">The scale of the rate's credit type, 0 to 18.</param>
    /// <returns>The price, at <paramref name="scale"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="rate"/> is the default value.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A count of <paramref name="usage"/> is negative (<c>ParamName</c> names it), <paramref name="tokensAlreadyUsedInPeriod"/> is negative, or <paramref name="scale"/> is outside 0 to 18.</exception>
    /// <exception cref="OverflowException">The price does not fit in a 64-bit count of units at <paramref name="scale"/>.</exception>
    public static CreditAmount Price(in ResolvedRate rate, TokenUsage usage, long tokensAlreadyUsedInPeriod, int scale)
    {
        CompiledRate compiled = Require(rate);
        Validate(usage, scale);
        ArgumentOutOfRangeException.ThrowIfNegative(tokensAlreadyUsedInPeriod);
        return CreditAmount.FromUnits(compiled.Price.Units(usage, tokensAlreadyUsedInPeriod, scale, compiled.Model), scale);
    }

    /// <summary>Computes what the vendor charges for token usage, in <see cref="ResolvedRate.CostCurrency"/>, rounded up once to <paramref name="scale"/>.</summary>
    /// <param name="rate">The rate, from <see cref="RateCard.TryResolve"/>.</param>
    /// <param name="usage">The tokens used; every count must be zero or more.</param>
    /// <param name="scale">The number of decimal places of the result, 0 to 18.</param>
    /// <returns>The cost, with at most <paramref name="scale"/> decimal places, or <see langword="null"/> when the rate has no <see cref="ModelRate.CostBasis"/>.</returns>
    /// <remarks>Vendor costs have no tiers. Rounding the cost up as well keeps a margin computed from the two on the safe side.</remarks>
    /// <exception cref="ArgumentException"><paramref name="rate"/> is the default value.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A count of <paramref name="usage"/> is negative (<c>ParamName</c> names it), or <paramref name="scale"/> is outside 0 to 18.</exception>
    /// <exception cref="OverflowException">The cost does not fit in a 64-bit count of units at <paramref name="scale"/>.</exception>
    public static decimal? Cost(in ResolvedRate rate, TokenUsage usage, int scale)
    {
        CompiledRate compiled = Require(rate);
        Validate(usage, scale);
        return compiled.Cost is { } cost ? FixedPoint.ToDecimal(cost.Units(usage, 0, scale, compiled.Model), scale) : null;
    }

    /// <summary>Prices units above a soft limit at a rate per unit, rounded up once to <paramref name="scale"/>.</summary>
    /// <param name="units">The units of overage, such as tokens past the limit; zero or more.</param>
    /// <param name="ratePerUnit">The price of one unit in credits, such as 0.0002; zero or more.</param>
    /// <param name="scale">The scale of the credit type, 0 to 18.</param>
    /// <returns>The price, at <paramref name="scale"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="units"/> or <paramref name="ratePerUnit"/> is negative, or <paramref name="scale"/> is outside 0 to 18.</exception>
    /// <exception cref="OverflowException">The price does not fit in a 64-bit count of units at <paramref name="scale"/>.</exception>
    public static CreditAmount OveragePrice(long units, decimal ratePerUnit, int scale)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(units);
        ArgumentOutOfRangeException.ThrowIfNegative(ratePerUnit);
        FixedPoint.ValidateScale(scale, nameof(scale));
        (UInt128 mantissa, int rateScale) = PriceSchedule.Decompose(ratePerUnit);
        string subject = "an overage";
        long result = units == 0 || mantissa <= (UInt128)(Int128.MaxValue / units)
            ? PriceSchedule.CeilingUnits((Int128)mantissa * units, rateScale, scale, subject)
            : PriceSchedule.CeilingUnits((BigInteger)mantissa * units, rateScale, scale, subject);
        return CreditAmount.FromUnits(result, scale);
    }

    private static CompiledRate Require(in ResolvedRate rate) =>
        rate.Rate ?? throw new ArgumentException("The rate is the default value; get one from RateCard.TryResolve.", nameof(rate));

    private static void Validate(in TokenUsage usage, int scale)
    {
        FixedPoint.ValidateScale(scale, nameof(scale));
        ValidateCounts(usage);
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first negative count (<c>ParamName</c> is the field).</summary>
    internal static void ValidateCounts(in TokenUsage usage)
    {
        ThrowIfNegative(usage.InputTokens, nameof(TokenUsage.InputTokens));
        ThrowIfNegative(usage.CachedInputTokens, nameof(TokenUsage.CachedInputTokens));
        ThrowIfNegative(usage.OutputTokens, nameof(TokenUsage.OutputTokens));
        ThrowIfNegative(usage.ReasoningTokens, nameof(TokenUsage.ReasoningTokens));
    }

    private static void ThrowIfNegative(long count, string name)
    {
        if (count < 0)
        {
            throw new ArgumentOutOfRangeException(name, count, $"A token count may not be negative; {name} is {count}.");
        }
    }
}
