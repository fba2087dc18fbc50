using System.Security;

namespace UsageGuard;

/// <summary>Usage windows and billing periods, calendar-aligned in one time zone and anchored to a subscription's start.</summary>
/// <remarks>
/// <para>Windows tile the timeline: every instant belongs to exactly one window of each <see cref="UsageWindow"/>, a
/// window contains its start and not its end, and the end of one window is the start of the next. Windows extend
/// before the anchor as well as after it.</para>
/// <para>Daily, weekly, monthly and yearly windows start at local midnight. A midnight the local clock skips (a
/// daylight-saving gap that opens at 00:00) maps to the first instant after the gap; a midnight it reads twice (a
/// fall-back overlap) maps to the earlier instant. A local day therefore lasts 23, 24 or 25 hours where the zone
/// observes daylight saving time (23.5 or 24.5 hours under Australia/Lord_Howe's half-hour shift).</para>
/// <para>Hourly windows start at the top of each local hour and are split where the UTC offset changes: the hour a
/// fall-back repeats yields two windows, one per offset, and under a half-hour shift a window can last 30 minutes.
/// Zones with offsets that are not whole hours (Asia/Kolkata +05:30, Asia/Kathmandu +05:45) align to their own clock.</para>
/// <para>Minute and second windows start at the top of each local minute or second and are split where the UTC offset
/// changes, as hourly windows are. Every offset <see cref="TimeZoneInfo"/> reports is a whole number of minutes, so they
/// coincide with UTC minutes and seconds; only an offset change inside a minute splits one, as London's change from local
/// mean time to GMT did at 00:01:15 UTC on 1 December 1847.</para>
/// <para>Instants from 0003-01-01 to 9996-12-31 UTC are supported. Instances are immutable and thread-safe;
/// <see cref="Containing"/> allocates nothing.</para>
/// </remarks>
public sealed partial class PeriodCalendar
{
    private static readonly long MinUtcTicks = new DateTime(3, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;
    private static readonly long MaxUtcTicks = new DateTime(9997, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    private readonly ZoneClock _clock;
    private readonly DayOfWeek _anchorDayOfWeek;
    private readonly int _anchorDay;
    private readonly int _anchorMonth;

    /// <summary>Initializes a calendar for a time zone and an anchor.</summary>
    /// <param name="timeZone">The zone whose local clock aligns the windows.</param>
    /// <param name="anchor">The subscription or billing anchor; only its local date in <paramref name="timeZone"/> matters.</param>
    /// <exception cref="ArgumentNullException"><paramref name="timeZone"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="anchor"/> is outside the supported range.</exception>
    public PeriodCalendar(TimeZoneInfo timeZone, DateTimeOffset anchor)
    {
        ArgumentNullException.ThrowIfNull(timeZone);
        long anchorUtc = ValidateInstant(anchor, nameof(anchor));
        _clock = new ZoneClock(timeZone);
        var anchorLocal = new DateTime(anchorUtc + _clock.OffsetAt(anchorUtc).Ticks);
        _anchorDayOfWeek = anchorLocal.DayOfWeek;
        _anchorDay = anchorLocal.Day;
        _anchorMonth = anchorLocal.Month;
        TimeZone = timeZone;
        Anchor = anchor;
    }

    /// <summary>Gets the zone whose local clock aligns the windows.</summary>
    /// <value>The time zone given on construction.</value>
    public TimeZoneInfo TimeZone { get; }

    /// <summary>Gets the subscription or billing anchor.</summary>
    /// <value>The anchor given on construction; its local day of the week, day of the month and month start the weekly, monthly and yearly windows.</value>
    public DateTimeOffset Anchor { get; }

    /// <summary>Creates a calendar for a time zone named by its IANA id, such as <c>Europe/London</c>.</summary>
    /// <param name="timeZoneId">The IANA time zone id (or any id <see cref="TimeZoneInfo.FindSystemTimeZoneById"/> accepts).</param>
    /// <param name="anchor">The subscription or billing anchor.</param>
    /// <returns>The calendar.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="timeZoneId"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="timeZoneId"/> is empty, or names no time zone known on this machine.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="anchor"/> is outside the supported range.</exception>
    public static PeriodCalendar FromTimeZoneId(string timeZoneId, DateTimeOffset anchor)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(timeZoneId);
        TimeZoneInfo zone;
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(timeZoneId);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or SecurityException)
        {
            throw new ArgumentException($"The time zone '{timeZoneId}' is not known on this machine; pass an IANA id such as 'Europe/London' (on Linux the zone database is read from /usr/share/zoneinfo; install the tzdata package if it is missing).", nameof(timeZoneId), ex);
        }

        return new PeriodCalendar(zone, anchor);
    }

    /// <summary>Gets the window of a given length that holds an instant; an instant exactly at a boundary belongs to the window that starts there.</summary>
    /// <param name="instant">The instant.</param>
    /// <param name="window">The window length.</param>
    /// <returns>The window, with its bounds expressed in the zone's UTC offset at each bound.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="window"/> is not a defined <see cref="UsageWindow"/>, or <paramref name="instant"/> is outside the supported range.</exception>
    public UsagePeriod Containing(DateTimeOffset instant, UsageWindow window)
    {
        ValidateWindow(window);
        long utcTicks = ValidateInstant(instant, nameof(instant));
        return window switch
        {
            UsageWindow.Hour => _clock.Hour(utcTicks),
            UsageWindow.Minute => _clock.WithinHour(utcTicks, TimeSpan.TicksPerMinute),
            UsageWindow.Second => _clock.WithinHour(utcTicks, TimeSpan.TicksPerSecond),
            _ => DateAligned(utcTicks, window),
        };
    }

    /// <summary>Gets the window that follows a window of this calendar.</summary>
    /// <param name="period">A window returned by this calendar for <paramref name="window"/>.</param>
    /// <param name="window">The window length.</param>
    /// <returns>The window that starts at <paramref name="period"/>'s end.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="window"/> is not a defined <see cref="UsageWindow"/>, or the next window is outside the supported range.</exception>
    /// <exception cref="ArgumentException"><paramref name="period"/> is not a <paramref name="window"/> window of this calendar.</exception>
    public UsagePeriod Next(UsagePeriod period, UsageWindow window)
    {
        ValidatePeriod(period, window);
        return period.End.UtcTicks < MaxUtcTicks
            ? Containing(period.End, window)
            : throw new ArgumentOutOfRangeException(nameof(period), period, "The next window is outside the supported range.");
    }

    /// <summary>Gets the window that precedes a window of this calendar.</summary>
    /// <param name="period">A window returned by this calendar for <paramref name="window"/>.</param>
    /// <param name="window">The window length.</param>
    /// <returns>The window that ends at <paramref name="period"/>'s start.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="window"/> is not a defined <see cref="UsageWindow"/>, or the previous window is outside the supported range.</exception>
    /// <exception cref="ArgumentException"><paramref name="period"/> is not a <paramref name="window"/> window of this calendar.</exception>
    public UsagePeriod Previous(UsagePeriod period, UsageWindow window)
    {
        ValidatePeriod(period, window);
        long before = period.Start.UtcTicks - 1;
        return before >= MinUtcTicks
            ? Containing(new DateTimeOffset(before, TimeSpan.Zero), window)
            : throw new ArgumentOutOfRangeException(nameof(period), period, "The previous window is outside the supported range.");
    }
}
