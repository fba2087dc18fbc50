namespace UsageGuard;

/// <summary>
/// Units counted toward one usage meter in one window: what a <see cref="LedgerEntryKind.Usage"/> entry records, and, in a
/// <see cref="LedgerSnapshot"/>, a window's total.
/// </summary>
/// <remarks>
/// <para>The window is the one the reservation was admitted in, not the one the settlement happened in: a request admitted just before a
/// boundary and settled just after it counts in the window that held it. Restoring a guard sums these entries into the current
/// windows, so limits and rate tiers survive a restart.</para>
/// <para>Equal when meter, quantity, window kind and both instants are (instants compared as points in time, as the entry hash
/// encodes them), so a <see cref="LedgerEntry"/> read back from a store equals the one written. Immutable and thread-safe.</para>
/// </remarks>
public sealed class MeteredUsage : IEquatable<MeteredUsage>
{
    /// <summary>Initializes a new instance of the <see cref="MeteredUsage"/> class.</summary>
    /// <param name="meter">What is counted: <c>feature:</c> and a metered feature's id, or <c>tokens:</c> and the model id of a tiered rate.</param>
    /// <param name="quantity">The units (feature units, or tokens of all kinds); zero or more.</param>
    /// <param name="window">The kind of window.</param>
    /// <param name="windowStart">When the window starts (inclusive).</param>
    /// <param name="windowEnd">When the window ends (exclusive); after <paramref name="windowStart"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="meter"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="quantity"/> is negative, or the window ends at or before it starts.</exception>
    public MeteredUsage(string meter, long quantity, UsageWindow window, DateTimeOffset windowStart, DateTimeOffset windowEnd)
    {
        ArgumentException.ThrowIfNullOrEmpty(meter);
        ArgumentOutOfRangeException.ThrowIfNegative(quantity);
        if (windowEnd <= windowStart)
        {
            throw new ArgumentOutOfRangeException(nameof(windowEnd), windowEnd, $"A usage window must end after it starts ({windowStart:O}).");
        }

        Meter = meter;
        Quantity = quantity;
        Window = window;
        WindowStart = windowStart;
        WindowEnd = windowEnd;
    }

    /// <summary>Gets what is counted: <c>feature:</c> and a metered feature's id, or <c>tokens:</c> and the model id of a tiered rate.</summary>
    public string Meter { get; }

    /// <summary>Gets the units: feature units, or tokens of all kinds.</summary>
    public long Quantity { get; }

    /// <summary>Gets the kind of window.</summary>
    public UsageWindow Window { get; }

    /// <summary>Gets when the window starts (inclusive).</summary>
    public DateTimeOffset WindowStart { get; }

    /// <summary>Gets when the window ends (exclusive).</summary>
    public DateTimeOffset WindowEnd { get; }

    /// <inheritdoc />
    public bool Equals(MeteredUsage? other) =>
        other is not null && (ReferenceEquals(this, other) || (Quantity == other.Quantity && SameWindow(other)));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as MeteredUsage);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Meter, Quantity, Window, WindowStart, WindowEnd);

    /// <summary>Gets whether <paramref name="other"/> counts in the same meter and window.</summary>
    internal bool SameWindow(MeteredUsage other) =>
        Meter == other.Meter && Window == other.Window && WindowStart == other.WindowStart && WindowEnd == other.WindowEnd;
}
