using System.Globalization;

namespace UsageGuard;

/// <summary>An exact amount of credits: a signed 64-bit count of units at a fixed decimal scale.</summary>
/// <remarks>
/// <para>An amount of 1.5 at scale 6 is stored as 1,500,000 units. Arithmetic is checked: an overflow
/// throws <see cref="OverflowException"/>, and combining amounts of different scales throws
/// <see cref="ArgumentException"/>. There is no conversion from or to <see cref="double"/>.</para>
/// <para>The type is an immutable value and safe to share between threads.</para>
/// </remarks>
public readonly struct CreditAmount : IEquatable<CreditAmount>, IComparable<CreditAmount>
{
    private readonly long _units;
    private readonly byte _scale;

    private CreditAmount(long units, int scale)
    {
        _units = units;
        _scale = (byte)scale;
    }

    /// <summary>Gets the signed count of units.</summary>
    public long Units => _units;

    /// <summary>Gets the number of decimal places one unit stands for.</summary>
    public int Scale => _scale;

    /// <summary>Gets a value indicating whether the amount is zero.</summary>
    public bool IsZero => _units == 0;

    /// <summary>Creates an amount from a count of units.</summary>
    /// <param name="units">The signed count of units.</param>
    /// <param name="scale">The number of decimal places, 0 to 18.</param>
    /// <returns>The amount.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="scale"/> is outside 0 to 18.</exception>
    public static CreditAmount FromUnits(long units, int scale)
    {
        FixedPoint.ValidateScale(scale, nameof(scale));
        return new CreditAmount(units, scale);
    }

    /// <summary>Creates an amount from a decimal value, exactly.</summary>
    /// <param name="value">The value; it may not have more decimal places than <paramref name="scale"/>.</param>
    /// <param name="scale">The number of decimal places, 0 to 18.</param>
    /// <returns>The amount.</returns>
    /// <exception cref="ArgumentException"><paramref name="value"/> has more decimal places than <paramref name="scale"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="scale"/> is outside 0 to 18.</exception>
    /// <exception cref="OverflowException">The value does not fit in 64-bit units at this scale.</exception>
    public static CreditAmount FromDecimal(decimal value, int scale)
    {
        FixedPoint.ValidateScale(scale, nameof(scale));
        return new CreditAmount(FixedPoint.ToUnits(value, scale, nameof(value)), scale);
    }

    /// <summary>Returns the zero amount at a scale.</summary>
    /// <param name="scale">The number of decimal places, 0 to 18.</param>
    /// <returns>The zero amount.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="scale"/> is outside 0 to 18.</exception>
    public static CreditAmount Zero(int scale) => FromUnits(0, scale);

    /// <summary>Converts the amount to a <see cref="decimal"/>, exactly.</summary>
    /// <returns>The decimal value.</returns>
    public decimal ToDecimal() => FixedPoint.ToDecimal(_units, _scale);

    /// <summary>Adds two amounts of the same scale.</summary>
    /// <param name="left">The first amount.</param>
    /// <param name="right">The second amount.</param>
    /// <returns>The sum.</returns>
    /// <exception cref="ArgumentException">The scales differ.</exception>
    /// <exception cref="OverflowException">The sum overflows.</exception>
    public static CreditAmount operator +(CreditAmount left, CreditAmount right)
    {
        RequireSameScale(left, right);
        return new CreditAmount(checked(left._units + right._units), left._scale);
    }

    /// <summary>Subtracts two amounts of the same scale.</summary>
    /// <param name="left">The amount to subtract from.</param>
    /// <param name="right">The amount to subtract.</param>
    /// <returns>The difference.</returns>
    /// <exception cref="ArgumentException">The scales differ.</exception>
    /// <exception cref="OverflowException">The difference overflows.</exception>
    public static CreditAmount operator -(CreditAmount left, CreditAmount right)
    {
        RequireSameScale(left, right);
        return new CreditAmount(checked(left._units - right._units), left._scale);
    }

    /// <summary>Negates an amount.</summary>
    /// <param name="value">The amount.</param>
    /// <returns>The negated amount.</returns>
    /// <exception cref="OverflowException">The amount is the smallest representable value.</exception>
    public static CreditAmount operator -(CreditAmount value) => new(checked(-value._units), value._scale);

    /// <summary>Adds two amounts of the same scale.</summary>
    /// <param name="other">The amount to add.</param>
    /// <returns>The sum.</returns>
    /// <exception cref="ArgumentException">The scales differ.</exception>
    /// <exception cref="OverflowException">The sum overflows.</exception>
    public CreditAmount Add(CreditAmount other) => this + other;

    /// <summary>Subtracts an amount of the same scale.</summary>
    /// <param name="other">The amount to subtract.</param>
    /// <returns>The difference.</returns>
    /// <exception cref="ArgumentException">The scales differ.</exception>
    /// <exception cref="OverflowException">The difference overflows.</exception>
    public CreditAmount Subtract(CreditAmount other) => this - other;

    /// <summary>Negates the amount.</summary>
    /// <returns>The negated amount.</returns>
    /// <exception cref="OverflowException">The amount is the smallest representable value.</exception>
    public CreditAmount Negate() => -this;

    /// <summary>Compares two amounts of the same scale.</summary>
    /// <param name="left">The first amount.</param>
    /// <param name="right">The second amount.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> is smaller.</returns>
    /// <exception cref="ArgumentException">The scales differ.</exception>
    public static bool operator <(CreditAmount left, CreditAmount right) => left.CompareTo(right) < 0;

    /// <summary>Compares two amounts of the same scale.</summary>
    /// <param name="left">The first amount.</param>
    /// <param name="right">The second amount.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> is larger.</returns>
    /// <exception cref="ArgumentException">The scales differ.</exception>
    public static bool operator >(CreditAmount left, CreditAmount right) => left.CompareTo(right) > 0;

    /// <summary>Compares two amounts of the same scale.</summary>
    /// <param name="left">The first amount.</param>
    /// <param name="right">The second amount.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> is smaller or equal.</returns>
    /// <exception cref="ArgumentException">The scales differ.</exception>
    public static bool operator <=(CreditAmount left, CreditAmount right) => left.CompareTo(right) <= 0;

    /// <summary>Compares two amounts of the same scale.</summary>
    /// <param name="left">The first amount.</param>
    /// <param name="right">The second amount.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> is larger or equal.</returns>
    /// <exception cref="ArgumentException">The scales differ.</exception>
    public static bool operator >=(CreditAmount left, CreditAmount right) => left.CompareTo(right) >= 0;

    /// <summary>Tests two amounts for equality of units and scale.</summary>
    /// <param name="left">The first amount.</param>
    /// <param name="right">The second amount.</param>
    /// <returns><see langword="true"/> when units and scale are equal.</returns>
    public static bool operator ==(CreditAmount left, CreditAmount right) => left.Equals(right);

    /// <summary>Tests two amounts for inequality.</summary>
    /// <param name="left">The first amount.</param>
    /// <param name="right">The second amount.</param>
    /// <returns><see langword="true"/> when units or scale differ.</returns>
    public static bool operator !=(CreditAmount left, CreditAmount right) => !left.Equals(right);

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The scales differ.</exception>
    public int CompareTo(CreditAmount other)
    {
        RequireSameScale(this, other);
        return _units.CompareTo(other._units);
    }

    /// <inheritdoc />
    public bool Equals(CreditAmount other) => _units == other._units && _scale == other._scale;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is CreditAmount other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_units, _scale);

    /// <summary>Formats the amount with exactly <see cref="Scale"/> decimal places, invariant culture.</summary>
    /// <returns>The formatted amount, for example <c>12.500000</c>.</returns>
    public override string ToString() => ToDecimal().ToString("F" + _scale.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static void RequireSameScale(CreditAmount left, CreditAmount right)
    {
        if (left._scale != right._scale)
        {
            throw new ArgumentException($"Cannot combine amounts of scale {left._scale} and {right._scale}; they belong to different credit types.");
        }
    }
}
