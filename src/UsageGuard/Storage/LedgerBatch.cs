namespace UsageGuard;

/// <summary>What the ledger writer commits in one transaction: consecutive entries and the idempotency records they complete.</summary>
/// <remarks>The memory behind a batch is reused by the writer after <see cref="ILedgerStore.AppendAsync"/> completes: copy what you keep.</remarks>
public readonly struct LedgerBatch
{
    /// <summary>Initializes a new instance of the <see cref="LedgerBatch"/> struct.</summary>
    /// <param name="entries">The entries, in sequence order without gaps.</param>
    /// <param name="idempotencyRecords">The idempotency records to persist with them.</param>
    public LedgerBatch(ReadOnlyMemory<LedgerEntry> entries, IReadOnlyList<IdempotencyRecord> idempotencyRecords)
    {
        Entries = entries;
        IdempotencyRecords = idempotencyRecords;
    }

    /// <summary>Gets the entries, in sequence order without gaps.</summary>
    public ReadOnlyMemory<LedgerEntry> Entries { get; }

    /// <summary>Gets the idempotency records to persist with the entries.</summary>
    public IReadOnlyList<IdempotencyRecord> IdempotencyRecords { get; }
}
