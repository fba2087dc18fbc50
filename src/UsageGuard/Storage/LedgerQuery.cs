namespace UsageGuard;

/// <summary>A filter over ledger history; every set property must match.</summary>
public sealed class LedgerQuery
{
    /// <summary>Gets the customer; queries are always scoped to one customer.</summary>
    public required string CustomerId { get; init; }

    /// <summary>Gets the credit type, or <see langword="null"/> for all.</summary>
    public string? CreditType { get; init; }

    /// <summary>Gets the subject, or <see langword="null"/> for all.</summary>
    public string? Subject { get; init; }

    /// <summary>Gets the feature, or <see langword="null"/> for all.</summary>
    public string? Feature { get; init; }

    /// <summary>Gets the model, or <see langword="null"/> for all.</summary>
    public string? Model { get; init; }

    /// <summary>Gets the session, or <see langword="null"/> for all.</summary>
    public string? SessionId { get; init; }

    /// <summary>Gets the kind of entry, or <see langword="null"/> for all.</summary>
    public LedgerEntryKind? Kind { get; init; }

    /// <summary>Gets the inclusive lower bound on <see cref="LedgerEntry.Timestamp"/>, or <see langword="null"/>.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Gets the exclusive upper bound on <see cref="LedgerEntry.Timestamp"/>, or <see langword="null"/>.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Gets the sequence number after which the page starts (0 for the first page).</summary>
    /// <value>The default value is 0.</value>
    public long AfterSequence { get; init; }

    /// <summary>Gets the most entries to return.</summary>
    /// <value>The default value is 1,000.</value>
    public int Limit { get; init; } = 1000;

    internal bool Matches(in LedgerEntry e) =>
        string.Equals(e.CustomerId, CustomerId, StringComparison.Ordinal)
        && e.Sequence > AfterSequence
        && (Kind is null || e.Kind == Kind.Value)
        && (CreditType is null || string.Equals(e.CreditType, CreditType, StringComparison.Ordinal))
        && (Subject is null || string.Equals(e.Subject, Subject, StringComparison.Ordinal))
        && (Feature is null || string.Equals(e.Feature, Feature, StringComparison.Ordinal))
        && (Model is null || string.Equals(e.Model, Model, StringComparison.Ordinal))
        && (SessionId is null || string.Equals(e.SessionId, SessionId, StringComparison.Ordinal))
        && (From is null || e.Timestamp >= From.Value)
        && (To is null || e.Timestamp < To.Value);
}
