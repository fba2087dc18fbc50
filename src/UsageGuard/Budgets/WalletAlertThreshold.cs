namespace UsageGuard;

/// <summary>One compiled wallet threshold: a fixed number of units, or a fraction of the credits in force in millionths.</summary>
internal readonly struct WalletAlertThreshold
{
    /// <summary>The denominator of a percent threshold's fraction: a percent with at most 4 decimal places is a whole number of millionths.</summary>
    internal const long Millionths = 1_000_000;

    private WalletAlertThreshold(string label, bool isPercent, long value)
    {
        Label = label;
        IsPercent = isPercent;
        Value = value;
    }

    /// <summary>Gets the threshold as configured, trimmed: <c>20%</c> or <c>500</c>.</summary>
    internal string Label { get; }

    internal bool IsPercent { get; }

    /// <summary>Gets the threshold in units of the credit type, or, for a percent, the fraction of the credits in force in millionths (1 to 1,000,000).</summary>
    internal long Value { get; }

    internal static WalletAlertThreshold Absolute(string label, long units) => new(label, false, units);

    internal static WalletAlertThreshold Percent(string label, long millionths) => new(label, true, millionths);

    /// <summary>Gets the threshold in units for <paramref name="inForce"/> credits in force (zero or more): exact, rounded down.</summary>
    /// <remarks>
    /// Split at the denominator so that nothing overflows: the quotient times at most a million is at most
    /// <paramref name="inForce"/>, and the remainder times at most a million is below 10^12. An integer balance is at or
    /// below the exact product exactly when it is at or below this floor, so rounding down decides nothing wrongly.
    /// </remarks>
    internal long UnitsOf(long inForce) =>
        IsPercent ? ((inForce / Millionths) * Value) + ((inForce % Millionths) * Value / Millionths) : Value;
}
