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

    internal static decimal Pow10(int scale) => s_pow10Decimal[scale];

    internal static long ToUnits(decimal value, int scale, string paramName)
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

    internal static void ValidateScale(int scale, string paramName)
    {
        if ((uint)scale > MaxScale)
        {
            throw new ArgumentOutOfRangeException(paramName, scale, $"A scale must be between 0 and {MaxScale}.");
        }
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
