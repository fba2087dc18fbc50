namespace UsageGuard;

/// <summary>Which usage events an audit export writes: those settled in [<see cref="From"/>, <see cref="To"/>), of one customer or all.</summary>
public sealed class UsageAuditFilter
{
    /// <summary>Gets the first instant included.</summary>
    public required DateTimeOffset From { get; init; }

    /// <summary>Gets the first instant after the range (excluded).</summary>
    public required DateTimeOffset To { get; init; }

    /// <summary>Gets the customer, or <see langword="null"/> for every customer.</summary>
    public string? CustomerId { get; init; }
}
