namespace UsageGuard.Testing;

/// <summary>A store that passes every call to an inner store; tests override the calls they want to watch or break.</summary>
public abstract class DelegatingLedgerStore(ILedgerStore inner) : ILedgerStore
{
    /// <summary>Gets the store calls are passed to.</summary>
    protected ILedgerStore Inner { get; } = inner;

    public virtual ValueTask AppendAsync(LedgerBatch batch, CancellationToken cancellationToken = default) => Inner.AppendAsync(batch, cancellationToken);

    public virtual IAsyncEnumerable<LedgerEntry> ReadAsync(long afterSequence, CancellationToken cancellationToken = default) => Inner.ReadAsync(afterSequence, cancellationToken);

    public virtual ValueTask<IReadOnlyList<LedgerEntry>> QueryAsync(LedgerQuery query, CancellationToken cancellationToken = default) => Inner.QueryAsync(query, cancellationToken);

    public virtual ValueTask SaveSnapshotAsync(LedgerSnapshot snapshot, CancellationToken cancellationToken = default) => Inner.SaveSnapshotAsync(snapshot, cancellationToken);

    public virtual ValueTask<LedgerSnapshot?> LoadLatestSnapshotAsync(CancellationToken cancellationToken = default) => Inner.LoadLatestSnapshotAsync(cancellationToken);

    public virtual ValueTask<IdempotencyRecord?> FindIdempotencyRecordAsync(string customerId, string key, CancellationToken cancellationToken = default) => Inner.FindIdempotencyRecordAsync(customerId, key, cancellationToken);

    public virtual IAsyncEnumerable<IdempotencyRecord> ReadIdempotencyRecordsAsync(DateTimeOffset createdSince, CancellationToken cancellationToken = default) => Inner.ReadIdempotencyRecordsAsync(createdSince, cancellationToken);

    public virtual ValueTask PruneIdempotencyRecordsAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default) => Inner.PruneIdempotencyRecordsAsync(createdBefore, cancellationToken);
}
