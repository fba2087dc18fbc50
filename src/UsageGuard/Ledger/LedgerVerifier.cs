namespace UsageGuard;

/// <summary>Verifies a ledger: sequence without gaps, each hash chained to the previous one and recomputed, each before/after balance recomputed.</summary>
/// <remarks>Stateless and thread-safe; each call owns its state.</remarks>
public static class LedgerVerifier
{
    /// <summary>Verifies entries from the beginning of the ledger.</summary>
    /// <param name="entries">The entries in stored order, starting at sequence 1.</param>
    /// <returns>The result, naming the first bad entry.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="entries"/> is <see langword="null"/>.</exception>
    public static LedgerVerificationResult Verify(IEnumerable<LedgerEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        using var walk = new Walk(null);
        foreach (LedgerEntry entry in entries)
        {
            if (!walk.Step(entry))
            {
                break;
            }
        }

        return walk.Result();
    }

    /// <summary>Verifies entries from a store, optionally starting from a snapshot.</summary>
    /// <param name="entries">The entries in stored order, starting right after the snapshot.</param>
    /// <param name="start">The snapshot to start from, or <see langword="null"/> for the beginning.</param>
    /// <param name="cancellationToken">Cancels the walk.</param>
    /// <returns>The result, naming the first bad entry.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="entries"/> is <see langword="null"/>.</exception>
    public static async ValueTask<LedgerVerificationResult> VerifyAsync(IAsyncEnumerable<LedgerEntry> entries, LedgerSnapshot? start = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        using var walk = new Walk(start);
        await foreach (LedgerEntry entry in entries.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (!walk.Step(entry))
            {
                break;
            }
        }

        return walk.Result();
    }

    private sealed class Walk(LedgerSnapshot? start) : IDisposable
    {
        private readonly LedgerProjection _projection = LedgerProjection.FromSnapshot(start);
        private readonly LedgerEntryHasher _hasher = new();
        private long _expected = (start?.Sequence ?? 0) + 1;
        private LedgerHash _last = start?.LastHash ?? LedgerHash.Genesis;
        private long _checked;
        private long? _badSequence;
        private string? _problem;

        internal bool Step(in LedgerEntry entry)
        {
            string? problem = Check(entry);
            if (problem is not null)
            {
                _badSequence = entry.Sequence == _expected || entry.Sequence > _expected ? _expected : entry.Sequence;
                _problem = problem;
                return false;
            }

            _last = entry.Hash;
            _expected++;
            _checked++;
            return true;
        }

        internal LedgerVerificationResult Result() => new(_checked, _badSequence, _problem, _last);

        public void Dispose() => _hasher.Dispose();

        private string? Check(in LedgerEntry entry)
        {
            if (entry.Sequence != _expected)
            {
                return entry.Sequence > _expected
                    ? $"Entry {_expected} is missing: the next stored entry is {entry.Sequence}."
                    : $"Entry {entry.Sequence} is out of order: expected {_expected}.";
            }

            if (entry.PreviousHash != _last)
            {
                return $"Entry {entry.Sequence} does not chain to the entry before it.";
            }

            if (_hasher.Compute(entry, _last) != entry.Hash)
            {
                return $"Entry {entry.Sequence} was changed after it was written: its hash does not match its fields.";
            }

            string? problem = _projection.Apply(entry, out long before, out long after);
            if (problem is not null)
            {
                return $"Entry {entry.Sequence}: {problem}";
            }

            if (before != entry.BalanceBefore.Units || after != entry.BalanceAfter.Units)
            {
                return $"Entry {entry.Sequence} records balances {entry.BalanceBefore}→{entry.BalanceAfter}, but the entries before it give {FixedPoint.ToDecimal(before, entry.Amount.Scale)}→{FixedPoint.ToDecimal(after, entry.Amount.Scale)}.";
            }

            return null;
        }
    }
}
