namespace UsageGuard;

/// <summary>A half-open span of time [<see cref="Start"/>, <see cref="End"/>): the start belongs to it, the end to the next period.</summary>
/// <remarks>
/// Equality compares instants, not offsets: two periods that start and end at the same instants are equal
/// whatever offsets their bounds carry. The default value is the empty period at <see cref="DateTimeOffset.MinValue"/>.
/// </remarks>
/// <param name="Start">The first instant in the period.</param>
/// <param name="End">The first instant after the period; later than <paramref name="Start"/>.</param>
public readonly record struct UsagePeriod(DateTimeOffset Start, DateTimeOffset End)
{
    /// <summary>Gets the first instant in the period.</summary>
    /// <value>The start, inclusive.</value>
    public DateTimeOffset Start { get; } = Start;

    /// <summary>Gets the first instant after the period.</summary>
    /// <value>The end, exclusive; always later than <see cref="Start"/> unless the period is the default value.</value>
    /// <exception cref="ArgumentException">On construction, when the end is not later than the start.</exception>
    public DateTimeOffset End { get; } = End > Start ? End : throw new ArgumentException($"A period must end after it starts; the end {End:O} is not later than the start {Start:O}.", nameof(End));

    /// <summary>Gets how long the period lasts.</summary>
    /// <value><see cref="End"/> minus <see cref="Start"/>.</value>
    public TimeSpan Length => End - Start;

    /// <summary>Tells whether an instant falls in the period.</summary>
    /// <param name="instant">The instant.</param>
    /// <returns><see langword="true"/> when <see cref="Start"/> ≤ <paramref name="instant"/> &lt; <see cref="End"/>.</returns>
    public bool Contains(DateTimeOffset instant) => Start <= instant && instant < End;
}
