namespace UsageGuard;

public sealed partial class PeriodCalendar
{
    /// <summary>Gets the exact fraction of a period that is left at an instant, measured in ticks of elapsed time.</summary>
    /// <param name="period">The period, such as a billing cycle.</param>
    /// <param name="at">The instant, such as the moment of a plan change.</param>
    /// <returns>
    /// The ticks from <paramref name="at"/> to the period's end, clamped to [0, length], over the period's length in
    /// ticks; not reduced. Before the period the whole of it is left, at or after its end none.
    /// </returns>
    /// <remarks>Elapsed time, not calendar days: a month holding a spring-forward is an hour shorter, and its days weigh by their hours.</remarks>
    /// <exception cref="ArgumentException"><paramref name="period"/> is empty (the default value).</exception>
    public static (long Numerator, long Denominator) Remaining(UsagePeriod period, DateTimeOffset at)
    {
        long length = period.End.UtcTicks - period.Start.UtcTicks;
        if (length <= 0)
        {
            throw new ArgumentException("The period is empty; pass a period with an end after its start.", nameof(period));
        }

        // UtcTicks lie in [0, 3.2e18], so the difference of two fits in a long.
        return (Math.Clamp(period.End.UtcTicks - at.UtcTicks, 0, length), length);
    }

    /// <summary>Gets the share of a quantity for the part of a period left at an instant, rounded toward zero.</summary>
    /// <param name="units">The quantity for the whole period, in integer units (credits at their scale, tokens, seats…); may be negative.</param>
    /// <param name="period">The period, such as a billing cycle.</param>
    /// <param name="at">The instant, such as the moment of a plan change.</param>
    /// <returns>
    /// <paramref name="units"/> × <see cref="Remaining"/>, computed exactly in 128-bit integers and rounded toward zero:
    /// the magnitude is never more than the exact share, so a prorated grant never gives a fraction of a unit that was
    /// not paid for. The elapsed share is <paramref name="units"/> minus the result, so the two parts always add up to
    /// <paramref name="units"/> exactly.
    /// </returns>
    /// <exception cref="ArgumentException"><paramref name="period"/> is empty (the default value).</exception>
    public static long Prorate(long units, UsagePeriod period, DateTimeOffset at)
    {
        (long numerator, long denominator) = Remaining(period, at);

        // |units| < 2^63 and numerator ≤ denominator < 2^62: the product fits in 125 bits and the quotient in a long.
        // Int128 division truncates, which is the rounding toward zero documented above.
        return checked((long)((Int128)units * numerator / denominator));
    }
}
