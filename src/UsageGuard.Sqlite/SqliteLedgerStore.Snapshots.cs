using Microsoft.Data.Sqlite;

namespace UsageGuard.Sqlite;

public sealed partial class SqliteLedgerStore
{
    /// <inheritdoc />
    public ValueTask SaveSnapshotAsync(LedgerSnapshot snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        cancellationToken.ThrowIfCancellationRequested();
        byte[] payload = StoreCodec.EncodeSnapshot(snapshot);
        lock (_writeGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                using SqliteTransaction transaction = _write.BeginTransaction(deferred: false);
                using SqliteCommand command = _write.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = """
                    INSERT OR REPLACE INTO ug_snapshots (seq, payload, checksum) VALUES ($seq, $payload, $checksum);
                    DELETE FROM ug_snapshots WHERE seq NOT IN (SELECT seq FROM ug_snapshots ORDER BY seq DESC LIMIT $keep);
                    """;
                command.Parameters.AddWithValue("$seq", snapshot.Sequence);
                command.Parameters.AddWithValue("$payload", payload);
                command.Parameters.AddWithValue("$checksum", StoreCodec.Checksum(payload));
                command.Parameters.AddWithValue("$keep", _options.SnapshotsToKeep);
                command.ExecuteNonQuery();
                transaction.Commit();
            }
            catch (SqliteException ex)
            {
                throw Translate(ex, "saving a snapshot");
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    /// <exception cref="LedgerCorruptedException">The newest snapshot fails its checksum, or does not match the stored entry it claims to end at.</exception>
    public ValueTask<LedgerSnapshot?> LoadLatestSnapshotAsync(CancellationToken cancellationToken = default)
    {
        using SqliteConnection connection = OpenReader();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT s.seq, s.payload, s.checksum, e.hash FROM ug_snapshots s LEFT JOIN ug_entries e ON e.seq = s.seq ORDER BY s.seq DESC LIMIT 1;";
        using SqliteDataReader reader = Run(command.ExecuteReader, "loading the snapshot");
        if (!Run(reader.Read, "loading the snapshot"))
        {
            return ValueTask.FromResult<LedgerSnapshot?>(null);
        }

        long sequence = reader.GetInt64(0);
        if (reader.GetValue(1) is not byte[] payload || reader.GetValue(2) is not byte[] checksum)
        {
            throw new LedgerCorruptedException($"The SQLite ledger store '{_displayName}' holds a damaged snapshot at entry {sequence} (its payload or checksum is not binary). Refusing to start rather than serve wrong balances; restore the store from a backup.");
        }

        if (!StoreCodec.Checksum(payload).AsSpan().SequenceEqual(checksum))
        {
            throw new LedgerCorruptedException($"The SQLite ledger store '{_displayName}' holds a damaged snapshot at entry {sequence} (its checksum does not match). Refusing to start rather than serve wrong balances; restore the store from a backup.");
        }

        LedgerSnapshot snapshot = StoreCodec.DecodeSnapshot(payload);
        if (snapshot.Sequence > 0 && (reader.IsDBNull(3) || LedgerHash.FromBytes((byte[])reader.GetValue(3)) != snapshot.LastHash))
        {
            throw new LedgerCorruptedException($"The SQLite ledger store '{_displayName}' has a snapshot at entry {sequence} that does not match the stored entries (the entry is missing or differs). Refusing to start rather than serve wrong balances; restore the store from a backup.");
        }

        return ValueTask.FromResult<LedgerSnapshot?>(snapshot);
    }

    /// <inheritdoc />
    public ValueTask PruneIdempotencyRecordsAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_writeGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                using SqliteCommand command = _write.CreateCommand();
                command.CommandText = "DELETE FROM ug_idempotency WHERE created_at < $before;";
                command.Parameters.AddWithValue("$before", createdBefore.UtcTicks);
                command.ExecuteNonQuery();
            }
            catch (SqliteException ex)
            {
                throw Translate(ex, "pruning idempotency keys");
            }
        }

        return ValueTask.CompletedTask;
    }
}
