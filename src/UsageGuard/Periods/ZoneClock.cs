namespace UsageGuard;

/// <summary>Maps between instants and one time zone's local clock, with the gap and overlap rules of <see cref="PeriodCalendar"/>.</summary>
/// <remarks>
/// Works on tick counts (UTC ticks for instants, local ticks for wall-clock times) so that the hot path allocates
/// nothing. Immutable and thread-safe: <see cref="TimeZoneInfo"/> is immutable, and nothing is cached here.
/// </remarks>
internal sealed class ZoneClock
{
    private readonly TimeZoneInfo _zone;
    private readonly bool _isFixed;
    private readonly TimeSpan _fixedOffset;

    internal ZoneClock(TimeZoneInfo zone)
    {
        _zone = zone;

        // A zone without adjustment rules never changes its offset (UTC, Etc/GMT+5): every mapping is one addition.
        _isFixed = zone.GetAdjustmentRules().Length == 0;
        _fixedOffset = zone.BaseUtcOffset;
    }

    internal TimeSpan OffsetAt(long utcTicks) =>
        _isFixed ? _fixedOffset : _zone.GetUtcOffset(new DateTime(utcTicks, DateTimeKind.Utc));

    /// <summary>The instant the local clock reads <paramref name="localTicks"/>: the earlier one when it reads it twice, the first instant after the gap when never.</summary>
    /// <param name="localTicks">The wall-clock time.</param>
    /// <param name="hint">An offset that is probably in force at that wall-clock time; any offset is correct, a good one is fast.</param>
    internal DateTimeOffset ToInstant(long localTicks, TimeSpan hint)
    {
        if (_isFixed)
        {
            return new DateTimeOffset(localTicks, _fixedOffset);
        }

        if (OffsetAt(localTicks - hint.Ticks) == hint)
        {
            // The same wall-clock time maps to an earlier instant only under a larger offset in force before a fall-back;
            // one day back reaches past any overlap the zone database holds.
            TimeSpan before = OffsetAt(localTicks - hint.Ticks - TimeSpan.TicksPerDay);
            return before > hint && OffsetAt(localTicks - before.Ticks) == before
                ? new DateTimeOffset(localTicks, before)
                : new DateTimeOffset(localTicks, hint);
        }

        return ToInstantSlow(localTicks, hint);
    }

    private DateTimeOffset ToInstantSlow(long localTicks, TimeSpan hint)
    {
        // Offsets in force some hours before and after the wall-clock time: with the one seen at the hint, these are
        // every offset a single transition can put in play.
        TimeSpan before = OffsetAt(localTicks - TimeSpan.TicksPerDay);
        TimeSpan after = OffsetAt(localTicks + TimeSpan.TicksPerDay);
        TimeSpan seen = OffsetAt(localTicks - hint.Ticks);
        TimeSpan? best = null;
        foreach (TimeSpan candidate in (ReadOnlySpan<TimeSpan>)[before, after, seen])
        {
            // A larger offset is an earlier instant for the same wall-clock time.
            if (OffsetAt(localTicks - candidate.Ticks) == candidate && (best is null || candidate > best.Value))
            {
                best = candidate;
            }
        }

        if (best is { } offset)
        {
            return new DateTimeOffset(localTicks, offset);
        }

        long utc = FirstInstantAtOrAfter(localTicks, before, after);
        TimeSpan utcOffset = OffsetAt(utc);
        return new DateTimeOffset(utc + utcOffset.Ticks, utcOffset);
    }

    /// <summary>The first instant whose local time is at or after a wall-clock time that falls in a gap.</summary>
    private long FirstInstantAtOrAfter(long localTicks, TimeSpan before, TimeSpan after)
    {
        // The transition that opens the gap lies between the two wall-clock readings of the time; if the bracket does
        // not hold (two transitions close together) fall back to a window wider than any UTC offset.
        long lo = localTicks - Math.Max(before.Ticks, after.Ticks);
        long hi = localTicks - Math.Min(before.Ticks, after.Ticks);
        if (!(LocalTicks(lo) < localTicks && LocalTicks(hi) >= localTicks))
        {
            lo = localTicks - (2 * TimeSpan.TicksPerDay);
            hi = localTicks + (2 * TimeSpan.TicksPerDay);
        }

        while (hi - lo > 1)
        {
            long mid = lo + ((hi - lo) / 2);
            if (LocalTicks(mid) >= localTicks)
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }

        return hi;
    }

    /// <summary>The hour window holding an instant: a run of instants with the same local date, hour and UTC offset.</summary>
    internal UsagePeriod Hour(long utcTicks)
    {
        TimeSpan offset = OffsetAt(utcTicks);
        long local = utcTicks + offset.Ticks;
        long top = local - (local % TimeSpan.TicksPerHour);

        long start = top - offset.Ticks;
        TimeSpan startOffset = OffsetAt(start);
        while (startOffset != offset)
        {
            // The clock read this hour under another offset at the top: the window starts where this offset took over,
            // so the two readings of an hour repeated by a fall-back are two windows.
            start = FirstOffsetChange(start, utcTicks, startOffset);
            startOffset = OffsetAt(start);
        }

        long end = top + TimeSpan.TicksPerHour - offset.Ticks;
        TimeSpan endOffset = OffsetAt(end);
        if (endOffset != offset)
        {
            end = FirstOffsetChange(utcTicks, end, offset);
            endOffset = OffsetAt(end);
        }

        return new UsagePeriod(new DateTimeOffset(start + offset.Ticks, offset), new DateTimeOffset(end + endOffset.Ticks, endOffset));
    }

    /// <summary>
    /// The window of a local minute or second holding an instant: the top of the unit on the local clock, cut to the hour window so
    /// that it splits where the UTC offset changes, as hours do.
    /// </summary>
    /// <param name="utcTicks">The instant.</param>
    /// <param name="unitTicks">The window's length: a whole divisor of an hour (a minute or a second).</param>
    internal UsagePeriod WithinHour(long utcTicks, long unitTicks)
    {
        // One offset is in force throughout an hour window (the one at the instant, which its start carries), so flooring the local
        // time is exact inside it; at its edges the hour window's own bounds, with their offsets, take over.
        UsagePeriod hour = Hour(utcTicks);
        TimeSpan offset = hour.Start.Offset;
        long local = utcTicks + offset.Ticks;
        long top = local - (local % unitTicks);
        DateTimeOffset start = top - offset.Ticks <= hour.Start.UtcTicks ? hour.Start : new DateTimeOffset(top, offset);
        DateTimeOffset end = top + unitTicks - offset.Ticks >= hour.End.UtcTicks ? hour.End : new DateTimeOffset(top + unitTicks, offset);
        return new UsagePeriod(start, end);
    }

    private long LocalTicks(long utcTicks) => utcTicks + OffsetAt(utcTicks).Ticks;

    /// <summary>The first instant in (<paramref name="lo"/>, <paramref name="hi"/>] whose offset is not <paramref name="offsetAtLo"/>; the offset at <paramref name="hi"/> must differ.</summary>
    private long FirstOffsetChange(long lo, long hi, TimeSpan offsetAtLo)
    {
        while (hi - lo > 1)
        {
            long mid = lo + ((hi - lo) / 2);
            if (OffsetAt(mid) == offsetAtLo)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return hi;
    }
}
