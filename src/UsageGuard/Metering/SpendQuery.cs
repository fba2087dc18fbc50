namespace UsageGuard;

/// <summary>A spend query: settlements of a range of UTC days, of one customer or all, grouped (<see cref="ISpendQueries"/>).</summary>
public sealed class SpendQuery
{
    /// <summary>Gets the first UTC day included.</summary>
    public required DateOnly From { get; init; }

    /// <summary>Gets the first UTC day after the range (excluded): from the 8th to the 15th inclusive is <c>From = 8th, To = 16th</c>.</summary>
    public required DateOnly To { get; init; }

    /// <summary>Gets the customer, or <see langword="null"/> for every customer.</summary>
    public string? CustomerId { get; init; }

    /// <summary>Gets what the rows are grouped by.</summary>
    /// <value>The default value is <see cref="SpendGrouping.None"/>: totals per credit type.</value>
    public SpendGrouping GroupBy { get; init; }

    /// <summary>
    /// Gets the depth of the subject nodes reported when grouping by <see cref="SpendGrouping.Subject"/> (1 for top-level nodes, 2 for
    /// their children…); an event whose path is shallower counts at its own node. With a depth, each event counts in one row, so rows add
    /// up to the total; without one (<see langword="null"/>), it counts in every node of its path.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public int? SubjectDepth { get; init; }

    /// <summary>Checks the query.</summary>
    /// <exception cref="ArgumentException">The range is empty, or the depth is below 1; the message says which.</exception>
    internal void Validate()
    {
        if (To <= From)
        {
            throw new ArgumentException($"A spend query's range must end after it starts (From {From:yyyy-MM-dd}, To {To:yyyy-MM-dd}; To is excluded).", nameof(To));
        }

        if (SubjectDepth is < 1)
        {
            throw new ArgumentException($"SubjectDepth must be 1 or more ({SubjectDepth}).", nameof(SubjectDepth));
        }

        if (CustomerId is { Length: 0 })
        {
            throw new ArgumentException("CustomerId is empty; leave it null for every customer.", nameof(CustomerId));
        }
    }
}
