namespace UsageGuard;

public sealed partial class PeriodCalendar
{
    private UsagePeriod DateAligned(long utcTicks, UsageWindow window)
    {
        TimeSpan hint = _clock.OffsetAt(utcTicks);
        DateTime boundary = OnOrBefore(new DateTime(utcTicks + hint.Ticks).Date, window);
        DateTimeOffset start = _clock.ToInstant(boundary.Ticks, hint);

        // The local date says which boundary comes first; the instants decide. Where a fall-back crosses midnight the
        // repeated hour lies after the next midnight's (earlier) instant, and a day the zone skipped entirely (Pacific/Apia,
        // 2011-12-30) is an empty span that the loops step over.
        while (utcTicks < start.UtcTicks)
        {
            boundary = Step(boundary, window, -1);
            start = _clock.ToInstant(boundary.Ticks, hint);
        }

        DateTime next = Step(boundary, window, 1);
        DateTimeOffset end = _clock.ToInstant(next.Ticks, hint);
        while (utcTicks >= end.UtcTicks)
        {
            start = end;
            next = Step(next, window, 1);
            end = _clock.ToInstant(next.Ticks, hint);
        }

        return new UsagePeriod(start, end);
    }

    private DateTime OnOrBefore(DateTime date, UsageWindow window)
    {
        switch (window)
        {
            case UsageWindow.Day:
                return date;
            case UsageWindow.Week:
                return date.AddDays(-(((int)date.DayOfWeek - (int)_anchorDayOfWeek + 7) % 7));
            case UsageWindow.Month:
                DateTime month = MonthStart(date.Year, date.Month);
                return date >= month ? month : Step(month, window, -1);
            default:
                DateTime year = YearStart(date.Year);
                return date >= year ? year : YearStart(date.Year - 1);
        }
    }

    private DateTime Step(DateTime boundary, UsageWindow window, int direction)
    {
        switch (window)
        {
            case UsageWindow.Day:
                return boundary.AddDays(direction);
            case UsageWindow.Week:
                return boundary.AddDays(7 * direction);
            case UsageWindow.Month:
                // From the boundary's month, never from its day: a clamped 28 February is followed by 31 March, not 28 March.
                int index = (boundary.Year * 12) + boundary.Month - 1 + direction;
                return MonthStart(index / 12, (index % 12) + 1);
            default:
                return YearStart(boundary.Year + direction);
        }
    }

    private DateTime MonthStart(int year, int month) => new(year, month, Math.Min(_anchorDay, DateTime.DaysInMonth(year, month)));

    private DateTime YearStart(int year) => new(year, _anchorMonth, Math.Min(_anchorDay, DateTime.DaysInMonth(year, _anchorMonth)));

    private static void ValidateWindow(UsageWindow window)
    {
        // The values are 0 to 6 without a hole: Hour to Year, then Minute and Second.
        if ((uint)window > (uint)UsageWindow.Second)
        {
            throw new ArgumentOutOfRangeException(nameof(window), window, "The window must be a defined UsageWindow value.");
        }
    }

    private static long ValidateInstant(DateTimeOffset instant, string paramName)
    {
        long utcTicks = instant.UtcTicks;
        if (utcTicks < MinUtcTicks || utcTicks >= MaxUtcTicks)
        {
            throw new ArgumentOutOfRangeException(paramName, instant, "The instant must be between 0003-01-01 and 9996-12-31 UTC.");
        }

        return utcTicks;
    }

    private void ValidatePeriod(UsagePeriod period, UsageWindow window)
    {
        ValidateWindow(window);
        ValidateInstant(period.Start, nameof(period));
        if (Containing(period.Start, window) != period)
        {
            throw new ArgumentException($"The period [{period.Start:O}, {period.End:O}) is not a {window} window of this calendar; pass a period this calendar returned.", nameof(period));
        }
    }
}
