namespace UsageGuard;

/// <summary>What a walk of the hash chain found.</summary>
public sealed class LedgerVerificationResult
{
    internal LedgerVerificationResult(long entriesChecked, long? firstBadSequence, string? problem, LedgerHash lastHash)
    {
        EntriesChecked = entriesChecked;
        FirstBadSequence = firstBadSequence;
        Problem = problem;
        LastHash = lastHash;
    }

    /// <summary>Gets a value indicating whether every entry checked out.</summary>
    public bool IsValid => Problem is null;

    /// <summary>Gets the number of entries checked before the walk ended.</summary>
    public long EntriesChecked { get; }

    /// <summary>Gets the sequence number where the first problem was found (the expected one when an entry is missing), or <see langword="null"/>.</summary>
    public long? FirstBadSequence { get; }

    /// <summary>Gets a description of the first problem, or <see langword="null"/> when the ledger is valid.</summary>
    public string? Problem { get; }

    /// <summary>Gets the hash of the last valid entry: publish it elsewhere to anchor the chain.</summary>
    public LedgerHash LastHash { get; }

    /// <inheritdoc />
    public override string ToString() => IsValid
        ? $"Valid: {EntriesChecked} entries, head {LastHash}."
        : $"Invalid at sequence {FirstBadSequence}: {Problem}";
}
