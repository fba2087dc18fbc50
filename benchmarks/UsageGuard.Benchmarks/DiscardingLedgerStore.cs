namespace UsageGuard.Benchmarks;

/// <summary>
/// A ledger store that counts what it is given and keeps none of it (only the latest snapshot).
/// Benchmark use only: it isolates the cost of the engine and its writer (sequencing, balances, SHA-256 chaining)
/// from the cost of <see cref="InMemoryLedgerStore"/> retaining every entry. Reads return nothing.
/// </summary>
internal sealed class DiscardingLedgerStore : ILedgerStore
{
    private long _entries;
    private LedgerSnapshot? _snapshot;

    /// <summary>Gets the number of entries appended (and dropped) so far.</summary>
    internal long Entries => Volatile.Read(ref _entries);

    public ValueTask AppendAsync(LedgerBatch batch, CancellationToken cancellationToken = default)
    {
        // Only the single ledger writer calls this.
        Volatile.Write(ref _entries, _entries + batch.Entries.Length);
        return ValueTask.CompletedTask;
    }

    public IAsyncEnumerable<LedgerEntry> ReadAsync(long afterSequence, CancellationToken cancellationToken = default) =>
        AsyncEnumerable.Empty<LedgerEntry>();

    public ValueTask<IReadOnlyList<LedgerEntry>> QueryAsync(LedgerQuery query, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<LedgerEntry>>([]);

    public ValueTask SaveSnapshotAsync(LedgerSnapshot snapshot, CancellationToken cancellationToken = default)
    {
        Volatile.Write(ref _snapshot, snapshot);
        return ValueTask.CompletedTask;
    }

    public ValueTask<LedgerSnapshot?> LoadLatestSnapshotAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Volatile.Read(ref _snapshot));

    public ValueTask PruneIdempotencyRecordsAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask<IdempotencyRecord?> FindIdempotencyRecordAsync(string customerId, string key, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IdempotencyRecord?>(null);

    public IAsyncEnumerable<IdempotencyRecord> ReadIdempotencyRecordsAsync(DateTimeOffset createdSince, CancellationToken cancellationToken = default) =>
        AsyncEnumerable.Empty<IdempotencyRecord>();
}
