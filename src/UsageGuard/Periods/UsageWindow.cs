namespace UsageGuard;

/// <summary>The length of a calendar-aligned usage window or billing period.</summary>
/// <remarks>
/// Every window is aligned to the local clock of a <see cref="PeriodCalendar"/>'s time zone; the weekly, monthly and
/// yearly windows also follow the calendar's anchor. See <see cref="PeriodCalendar.Containing"/> for the exact rules.
/// <see cref="Minute"/> and <see cref="Second"/> are for rate limits, such as requests or tokens per minute; they are not
/// billing periods. The values are stored in ledgers and never change.
/// </remarks>
public enum UsageWindow
{
    /// <summary>From the top of a local hour to the next, split where the zone's UTC offset changes.</summary>
    Hour = 0,

    /// <summary>From local midnight to the next local midnight: 23, 24 or 25 hours where the zone observes daylight saving time.</summary>
    Day = 1,

    /// <summary>Seven local days, starting at local midnight on the anchor's local day of the week.</summary>
    Week = 2,

    /// <summary>A calendar month, starting at local midnight on the anchor's local day of the month, clamped to the month's last day.</summary>
    Month = 3,

    /// <summary>A calendar year, starting at local midnight on the anchor's local month and day, with 29 February clamped to 28 February.</summary>
    Year = 4,

    /// <summary>From the top of a local minute to the next, split where the zone's UTC offset changes, as hours are.</summary>
    Minute = 5,

    /// <summary>From the top of a local second to the next, split where the zone's UTC offset changes, as hours are.</summary>
    Second = 6,
}
