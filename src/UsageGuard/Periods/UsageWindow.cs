namespace UsageGuard;

/// <summary>A calendar window over which usage is counted and limits reset.</summary>
public enum UsageWindow
{
    /// <summary>One hour of the local clock.</summary>
    Hour,

    /// <summary>One local day, midnight to midnight.</summary>
    Day,

    /// <summary>One week, starting on the anchor's day of the week.</summary>
    Week,

    /// <summary>One month, starting on the anchor's day of the month.</summary>
    Month,

    /// <summary>One year, starting on the anchor's month and day.</summary>
    Year,
}
