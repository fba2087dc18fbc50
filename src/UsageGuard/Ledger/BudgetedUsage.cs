namespace UsageGuard;

/// <summary>
/// What a settlement counted toward a customer's budgets, besides the credits (the entry's <see cref="LedgerEntry.Amount"/>): carried by
/// <see cref="LedgerEntryKind.Budgeted"/> entries.
/// </summary>
/// <remarks>
/// One such entry is written per settlement of a reservation that held in at least one budget limit. It counts one request, the
/// credits and the tokens, in the windows that contain <see cref="AdmittedAt"/> (the window that held the request, not the one it
/// settled in). Start-up sums these entries into each budget's current windows, so budgets, rate limits and session caps survive a
/// restart; past-window queries sum them too (docs/governance.md). The entry's subject, model, feature and session say which budgets it
/// counts toward. A struct, so that recording it allocates nothing.
/// </remarks>
public readonly record struct BudgetedUsage
{
    /// <summary>Initializes a new instance of the <see cref="BudgetedUsage"/> struct.</summary>
    /// <param name="admittedAt">When the reservation was admitted: the instant that places the usage in its windows.</param>
    /// <param name="tokens">The tokens counted toward token limits (the settled tokens, or the estimate held when the settlement gave none); zero or more.</param>
    /// <param name="tags">The request's tags, which tag budgets match, or <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tokens"/> is negative.</exception>
    public BudgetedUsage(DateTimeOffset admittedAt, long tokens, IReadOnlyList<string>? tags)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        AdmittedAt = admittedAt;
        Tokens = tokens;
        Tags = tags is { Count: > 0 } ? tags : null;
    }

    /// <summary>Gets when the reservation was admitted: the instant that places the usage in its windows.</summary>
    public DateTimeOffset AdmittedAt { get; }

    /// <summary>Gets the tokens counted toward token limits.</summary>
    public long Tokens { get; }

    /// <summary>Gets the request's tags, or <see langword="null"/> for none.</summary>
    public IReadOnlyList<string>? Tags { get; }

    /// <summary>Gets whether <paramref name="other"/> records the same admission instant, tokens and tags (compared in order, by value).</summary>
    /// <param name="other">The other value.</param>
    /// <returns><see langword="true"/> when both are the same.</returns>
    public bool Equals(BudgetedUsage other) =>
        AdmittedAt.Equals(other.AdmittedAt) && Tokens == other.Tokens
        && (ReferenceEquals(Tags, other.Tags) || (Tags is not null && other.Tags is not null && Tags.SequenceEqual(other.Tags, StringComparer.Ordinal)));

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(AdmittedAt, Tokens, Tags?.Count ?? 0);
}
