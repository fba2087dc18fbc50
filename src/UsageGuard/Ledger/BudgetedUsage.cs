namespace UsageGuard;

/// <summary>What one settlement counted toward a customer's budgets: <see cref="LedgerEntry.Budgeted"/>.</summary>
/// <remarks>
/// Every settlement of a reservation that held in at least one budget limit records one, on the last entry the settlement writes (or,
/// when it writes none, on a <see cref="LedgerEntryKind.Budgeted"/> entry of its own). It counts one request, <see cref="Credits"/> and
/// <see cref="Tokens"/>, in the windows that contain <see cref="AdmittedAt"/> (the window that held the request, not the one it settled
/// in). Start-up sums them into each budget's current windows, so budgets, rate limits and session caps survive a restart; past-window
/// queries sum them too (docs/governance.md). The entry's subject, model, feature and session say which budgets it counts toward. A
/// struct, so that recording it allocates nothing.
/// </remarks>
public readonly record struct BudgetedUsage
{
    /// <summary>Initializes a new instance of the <see cref="BudgetedUsage"/> struct.</summary>
    /// <param name="admittedAt">When the reservation was admitted: the instant that places the usage in its windows.</param>
    /// <param name="credits">The credits counted toward credit limits: what was charged, overdrawn or recorded as overage, not what was waived; zero when the request held no credits.</param>
    /// <param name="tokens">The tokens counted toward token limits (the settled tokens, or the estimate held when the settlement gave none); zero or more.</param>
    /// <param name="tags">The request's tags, which tag budgets match, or <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="credits"/> or <paramref name="tokens"/> is negative.</exception>
    public BudgetedUsage(DateTimeOffset admittedAt, CreditAmount credits, long tokens, IReadOnlyList<string>? tags)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(credits.Units, nameof(credits));
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        AdmittedAt = admittedAt;
        Credits = credits;
        Tokens = tokens;
        Tags = tags is { Count: > 0 } ? tags : null;
    }

    /// <summary>Gets when the reservation was admitted: the instant that places the usage in its windows.</summary>
    public DateTimeOffset AdmittedAt { get; }

    /// <summary>Gets the credits counted toward credit limits, in the wallet's credit type.</summary>
    public CreditAmount Credits { get; }

    /// <summary>Gets the tokens counted toward token limits.</summary>
    public long Tokens { get; }

    /// <summary>Gets the request's tags, or <see langword="null"/> for none.</summary>
    public IReadOnlyList<string>? Tags { get; }

    /// <summary>Gets whether <paramref name="other"/> records the same admission instant, credits, tokens and tags (compared in order, by value).</summary>
    /// <param name="other">The other value.</param>
    /// <returns><see langword="true"/> when both are the same.</returns>
    public bool Equals(BudgetedUsage other) =>
        AdmittedAt.Equals(other.AdmittedAt) && Credits == other.Credits && Tokens == other.Tokens
        && (ReferenceEquals(Tags, other.Tags) || (Tags is not null && other.Tags is not null && Tags.SequenceEqual(other.Tags, StringComparer.Ordinal)));

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(AdmittedAt, Credits, Tokens, Tags?.Count ?? 0);
}
