namespace UsageGuard;

/// <summary>Exact conversions between <see cref="decimal"/> and fixed-point integer units.</summary>
/// <remarks>
/// One rounding rule everywhere: there is none. A value with more decimal places than the credit
/// type's scale is rejected, never rounded, so no conversion silently creates or destroys credits.
/// </remarks>
internal static class FixedPoint
{
    internal const int MaxScale = 18;

    private static readonly decimal[] s_pow10Decimal = BuildDecimalPowers();
    private static readonly ulong[] s_pow10 = BuildPowers();

    internal static long ToUnits(decimal value, int scale, string paramName)
    {
        // Fast path, exact: a mantissa of at most 64 bits with no more decimal places than the scale is multiplied
        // by a power of ten, with the overflow checked on the 128-bit product.
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        int valueScale = (bits[3] >> 16) & 0xFF;
        if (bits[2] == 0 && valueScale <= scale)
        {
            ulong mantissa = ((ulong)(uint)bits[1] << 32) | (uint)bits[0];
            ulong high = Math.BigMul(mantissa, s_pow10[scale - valueScale], out ulong low);
            bool negative = bits[3] < 0;
            if (high == 0 && low <= (negative ? 1UL << 63 : long.MaxValue))
            {
                return negative ? unchecked((long)(0UL - low)) : (long)low;
            }
        }

        return ToUnitsSlow(value, scale, paramName);
    }

    private static long ToUnitsSlow(decimal value, int scale, string paramName)
    {
        decimal scaled;
        try
        {
            scaled = value * s_pow10Decimal[scale];
        }
        catch (OverflowException ex)
        {
            throw new OverflowException($"The amount {value} for '{paramName}' does not fit in a 64-bit count of units at scale {scale}.", ex);
        }

        decimal whole = decimal.Truncate(scaled);
        if (whole != scaled)
        {
            throw new ArgumentException($"The amount {value} has more than {scale} decimal places, the scale of its credit type; round it explicitly before passing it.", paramName);
        }

        if (whole > long.MaxValue || whole < long.MinValue)
        {
            throw new OverflowException($"The amount {value} for '{paramName}' does not fit in a 64-bit count of units at scale {scale}.");
        }

        return (long)whole;
    }

    internal static decimal ToDecimal(long units, int scale)
    {
        // Built from the magnitude so that long.MinValue converts exactly as well.
        bool negative = units < 0;
        ulong magnitude = negative ? unchecked((ulong)(-(units + 1)) + 1UL) : (ulong)units;
        return new decimal(unchecked((int)(uint)magnitude), unchecked((int)(uint)(magnitude >> 32)), 0, negative, (byte)scale);
    }

    /// <summary>The most bytes <see cref="FormatUtf8"/> writes: a sign, 19 digits, a point and a leading zero.</summary>
    internal const int MaxUtf8Length = 22;

    /// <summary>Writes units at a scale as decimal text, as <see cref="decimal.ToString()"/> writes <see cref="ToDecimal"/>'s value
    /// (invariant culture, exactly <paramref name="scale"/> decimal places), without making the decimal.</summary>
    /// <returns>The number of bytes written.</returns>
    internal static int FormatUtf8(long units, int scale, Span<byte> destination)
    {
        bool negative = units < 0;
        ulong magnitude = negative ? unchecked((ulong)(-(units + 1)) + 1UL) : (ulong)units;
        ulong whole = magnitude / s_pow10[scale];
        ulong fraction = magnitude - (whole * s_pow10[scale]);
        int n = 0;
        if (negative)
        {
            destination[n++] = (byte)'-';
        }

        whole.TryFormat(destination[n..], out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        n += written;
        if (scale > 0)
        {
            destination[n++] = (byte)'.';
            for (int i = n + scale - 1; i >= n; i--)
            {
                destination[i] = (byte)('0' + (int)(fraction % 10));
                fraction /= 10;
            }

            n += scale;
        }

        return n;
    }

    internal static void ValidateScale(int scale, string paramName)
    {
        if ((uint)scale > MaxScale)
        {
            throw new ArgumentOutOfRangeException(paramName, scale, $"A scale must be between 0 and {MaxScale}.");
        }
    }

    private static ulong[] BuildPowers()
    {
        var powers = new ulong[MaxScale + 1];
        ulong value = 1;
        for (int i = 0; i <= MaxScale; i++)
        {
            powers[i] = value;
            value *= 10;
        }

        return powers;
    }

    private static decimal[] BuildDecimalPowers()
    {
        var powers = new decimal[MaxScale + 1];
        decimal value = 1m;
        for (int i = 0; i <= MaxScale; i++)
        {
            powers[i] = value;
            value *= 10m;
        }

        return powers;
    }
}
