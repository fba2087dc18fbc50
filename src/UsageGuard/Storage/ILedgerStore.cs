namespace UsageGuard;

/// <summary>Where the ledger is kept: the contract every store (in-memory, SQLite, PostgreSQL) implements.</summary>
/// <remarks>
/// <para>Only the engine's single ledger writer calls <see cref="AppendAsync"/>, one batch at a time, so a
/// store needs no write concurrency of its own. Reads may run concurrently with appends.</para>
/// <para>A store must apply a batch atomically (all of it or none of it) and must never change or delete an
/// appended entry.</para>
/// </remarks>
public interface ILedgerStore
{
    /// <summary>Appends one batch atomically: entries and idempotency records together.</summary>
    /// <remarks>
    /// A record whose customer and key are already stored replaces the old one: the engine only writes a key again
    /// after the old record left its retention window. A gap in sequence numbers must fail the whole batch
    /// (<see cref="InvalidOperationException"/>). A batch sent again after a commit whose success went unreported must apply
    /// once: leading entries already stored with the same hashes are skipped, and a different entry under a stored sequence
    /// number fails the whole batch (<see cref="LedgerCorruptedException"/>). A store that cannot take writes throws
    /// <see cref="LedgerUnavailableException"/>, having applied nothing.
    /// </remarks>
    /// <param name="batch">The batch; its memory is reused after the call completes.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns>A task that completes when the batch is as durable as the store makes it.</returns>
    ValueTask AppendAsync(LedgerBatch batch, CancellationToken cancellationToken = default);

    /// <summary>Reads entries in sequence order, starting after a sequence number.</summary>
    /// <param name="afterSequence">The sequence number to start after (0 for the beginning).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The entries.</returns>
    IAsyncEnumerable<LedgerEntry> ReadAsync(long afterSequence, CancellationToken cancellationToken = default);

    /// <summary>Reads one customer's entries that match a query, in sequence order.</summary>
    /// <param name="query">The filter and page.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>At most <see cref="LedgerQuery.Limit"/> entries.</returns>
    ValueTask<IReadOnlyList<LedgerEntry>> QueryAsync(LedgerQuery query, CancellationToken cancellationToken = default);

    /// <summary>Saves a snapshot; later start-ups begin from the newest one.</summary>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="cancellationToken">Cancels the save.</param>
    /// <returns>A task that completes when the snapshot is saved.</returns>
    ValueTask SaveSnapshotAsync(LedgerSnapshot snapshot, CancellationToken cancellationToken = default);

    /// <summary>Loads the newest snapshot.</summary>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>The snapshot, or <see langword="null"/> when none was saved.</returns>
    ValueTask<LedgerSnapshot?> LoadLatestSnapshotAsync(CancellationToken cancellationToken = default);

    /// <summary>Looks up one idempotency record.</summary>
    /// <param name="customerId">The customer the key belongs to.</param>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The record, or <see langword="null"/> when the key was never committed.</returns>
    ValueTask<IdempotencyRecord?> FindIdempotencyRecordAsync(string customerId, string key, CancellationToken cancellationToken = default);

    /// <summary>Reads the idempotency records created at or after an instant (start-up loads those still retained).</summary>
    /// <param name="createdSince">The oldest creation time to return.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The records.</returns>
    IAsyncEnumerable<IdempotencyRecord> ReadIdempotencyRecordsAsync(DateTimeOffset createdSince, CancellationToken cancellationToken = default);

    /// <summary>Deletes the idempotency records created before an instant: they have left the retention window.</summary>
    /// <param name="createdBefore">Records created before this instant are deleted.</param>
    /// <param name="cancellationToken">Cancels the deletion.</param>
    /// <returns>A task that completes when the records are deleted.</returns>
    /// <remarks>The ledger writer calls it after each snapshot. Entries are never deleted.</remarks>
    ValueTask PruneIdempotencyRecordsAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default);
}
