namespace UsageGuard;

/// <summary>One customer's usage total in one meter's latest window, in a <see cref="LedgerSnapshot"/>.</summary>
public sealed class UsageSnapshot
{
    /// <summary>Gets the customer.</summary>
    public required string CustomerId { get; init; }

    /// <summary>Gets the meter, its window, and the units settled in it.</summary>
    public required MeteredUsage Usage { get; init; }
}
