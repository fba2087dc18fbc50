using System.Numerics;

namespace UsageGuard;

/// <summary>Prices per million tokens of the four kinds, by volume segment, as integers at one common decimal scale.</summary>
/// <remarks>
/// <para>Segment <c>i</c> prices the period's running token positions from <c>Bounds[i - 1]</c> (or 0) up to
/// <c>Bounds[i]</c>; the last segment, one more than there are bounds, has no end. Prices are kept as exact integer
/// mantissas at the largest decimal scale any of them has, so a sum of tokens times prices is an exact integer and
/// the one rounding happens when it is divided down to the credit type's scale.</para>
/// <para>Immutable and thread-safe.</para>
/// </remarks>
internal sealed class PriceSchedule
{
    internal const int KindCount = 4;

    // Prices are per million tokens: the exact sum is at the prices' scale plus these six digits.
    private const int PerMillionDigits = 6;

    private readonly long[] _bounds;

    // Volume: a request is priced whole at the segment its starting position is in, never split.
    private readonly bool _volume;
    private readonly Int128[]? _mantissas;
    private readonly BigInteger[] _bigMantissas;
    private readonly int _scale;

    // Total tokens times the largest mantissa bounds the sum, so at or below this many tokens Int128 cannot overflow.
    private readonly Int128 _fastPathTokenLimit;

    private PriceSchedule(long[] bounds, decimal[] prices, bool volume)
    {
        _bounds = bounds;
        _volume = volume;
        var parts = new (UInt128 Mantissa, int Scale)[prices.Length];
        int scale = 0;
        for (int i = 0; i < prices.Length; i++)
        {
            parts[i] = Decompose(prices[i]);
            scale = Math.Max(scale, parts[i].Scale);
        }

        _scale = scale;
        _bigMantissas = new BigInteger[prices.Length];
        BigInteger max = BigInteger.Zero;
        for (int i = 0; i < prices.Length; i++)
        {
            _bigMantissas[i] = (BigInteger)parts[i].Mantissa * BigInteger.Pow(10, scale - parts[i].Scale);
            max = BigInteger.Max(max, _bigMantissas[i]);
        }

        if (max <= (BigInteger)Int128.MaxValue)
        {
            _mantissas = new Int128[prices.Length];
            for (int i = 0; i < prices.Length; i++)
            {
                _mantissas[i] = (Int128)_bigMantissas[i];
            }

            _fastPathTokenLimit = max.IsZero ? Int128.MaxValue : Int128.MaxValue / (Int128)max;
        }
    }

    /// <summary>Gets whether the price depends on the tokens already used in the period (more than one tier).</summary>
    internal bool IsTiered => _bounds.Length > 0;

    /// <summary>Builds a schedule; <paramref name="prices"/> holds four prices (input, cached input, output, reasoning) per segment, one segment more than <paramref name="bounds"/>.</summary>
    internal static PriceSchedule Create(long[] bounds, decimal[] prices, bool volume = false)
    {
        System.Diagnostics.Debug.Assert(prices.Length == (bounds.Length + 1) * KindCount, "four prices per segment");
        return new PriceSchedule(bounds, prices, volume);
    }

    /// <summary>Prices a usage starting at a running position, rounded up to whole units of <paramref name="scale"/>.</summary>
    internal long Units(in TokenUsage usage, long position, int scale, string model)
    {
        Int128 tokens = (Int128)usage.InputTokens + usage.CachedInputTokens + usage.OutputTokens + usage.ReasoningTokens;
        if (_mantissas is not null && tokens <= _fastPathTokenLimit)
        {
            Int128 sum = Accumulate<Int128>(_bounds, _mantissas, usage, position, _volume);
            return CeilingUnits(sum, _scale + PerMillionDigits, scale, model);
        }

        BigInteger bigSum = Accumulate<BigInteger>(_bounds, _bigMantissas, usage, position, _volume);
        return CeilingUnits(bigSum, _scale + PerMillionDigits, scale, model);
    }

    /// <summary>Splits an exact non-negative decimal into an integer mantissa and a scale, without trailing zeros.</summary>
    internal static (UInt128 Mantissa, int Scale) Decompose(decimal value)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        UInt128 mantissa = ((UInt128)(uint)bits[2] << 64) | ((UInt128)(uint)bits[1] << 32) | (uint)bits[0];
        int scale = (bits[3] >> 16) & 0xFF;
        while (scale > 0 && mantissa % 10 == 0)
        {
            mantissa /= 10;
            scale--;
        }

        return (mantissa, scale);
    }

    /// <summary>Divides an exact non-negative amount at <paramref name="fromScale"/> down to whole units of <paramref name="toScale"/>, rounding up.</summary>
    /// <exception cref="OverflowException">The result does not fit in a <see cref="long"/>.</exception>
    internal static long CeilingUnits<T>(T exact, int fromScale, int toScale, string subject)
        where T : IBinaryInteger<T>
    {
        T units;
        int digits = fromScale - toScale;
        if (digits > 0)
        {
            (T quotient, T remainder) = T.DivRem(exact, Pow10<T>(digits));
            units = T.IsZero(remainder) ? quotient : quotient + T.One;
        }
        else
        {
            // Scaling up never shrinks the value, so a value already past long.MaxValue is an overflow before the
            // multiplication, which could otherwise overflow T first and lose the message.
            if (exact > T.CreateTruncating(long.MaxValue))
            {
                throw Overflow(subject, toScale);
            }

            units = exact * Pow10<T>(-digits);
        }

        if (units > T.CreateTruncating(long.MaxValue))
        {
            throw Overflow(subject, toScale);
        }

        return long.CreateTruncating(units);
    }

    private static T Accumulate<T>(long[] bounds, T[] mantissas, in TokenUsage usage, long position, bool volume)
        where T : IBinaryInteger<T>
    {
        int segment = 0;
        while (segment < bounds.Length && bounds[segment] <= position)
        {
            segment++;
        }

        // The running position can pass long.MaxValue within one request; Int128 holds any sum of four longs.
        Int128 at = position;
        T sum = T.Zero;
        for (int kind = 0; kind < KindCount; kind++)
        {
            Int128 remaining = kind switch
            {
                0 => usage.InputTokens,
                1 => usage.CachedInputTokens,
                2 => usage.OutputTokens,
                _ => usage.ReasoningTokens,
            };

            while (remaining > 0)
            {
                Int128 end = segment < bounds.Length && !volume ? bounds[segment] : Int128.MaxValue;
                Int128 take = Int128.Min(remaining, end - at);
                sum = checked(sum + (T.CreateChecked(take) * mantissas[(segment * KindCount) + kind]));
                at += take;
                remaining -= take;
                if (at == end)
                {
                    segment++;
                }
            }
        }

        return sum;
    }

    private static T Pow10<T>(int digits)
        where T : IBinaryInteger<T>
    {
        T ten = T.CreateTruncating(10);
        T value = T.One;
        for (int i = 0; i < digits; i++)
        {
            value *= ten;
        }

        return value;
    }

    private static OverflowException Overflow(string subject, int scale) =>
        new($"The price of {subject} does not fit in a 64-bit count of units at scale {scale} (more than {FixedPoint.ToDecimal(long.MaxValue, scale)} credits).");
}
