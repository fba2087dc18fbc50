using Microsoft.Data.Sqlite;

namespace UsageGuard.Sqlite;

public sealed partial class SqliteLedgerStore
{
    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The batch does not continue the stored ledger without a gap; nothing of it was written.</exception>
    /// <exception cref="LedgerUnavailableException">The store cannot take writes now (full, read-only, locked, I/O error); nothing of the batch was written.</exception>
    /// <exception cref="LedgerCorruptedException">The stored entries differ from the batch's entries with the same sequence numbers.</exception>
    public ValueTask AppendAsync(LedgerBatch batch, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_writeGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                AppendCore(batch);
            }
            catch (SqliteException ex)
            {
                // The transaction rolled back: re-read the stored head before the next batch rather than trust the cached one.
                _lastSequence = -1;
                throw Translate(ex, "appending a batch");
            }
        }

        return ValueTask.CompletedTask;
    }

    private void AppendCore(LedgerBatch batch)
    {
        ReadOnlySpan<LedgerEntry> entries = batch.Entries.Span;
        using SqliteTransaction transaction = _write.BeginTransaction(deferred: false);
        if (_lastSequence < 0)
        {
            _lastSequence = (long)ExecuteScalar("SELECT coalesce(max(seq), 0) FROM ug_entries;", transaction)!;
        }

        int skip = entries.IsEmpty ? 0 : AlreadyStored(entries, transaction);
        for (int i = 1; i < entries.Length; i++)
        {
            if (entries[i].Sequence != entries[i - 1].Sequence + 1)
            {
                throw new InvalidOperationException($"Ledger entries must be appended in sequence without gaps: entry {entries[i - 1].Sequence} is followed by {entries[i].Sequence}. Nothing of this batch was appended.");
            }
        }

        _insertEntry.Transaction = transaction;
        for (int i = skip; i < entries.Length; i++)
        {
            BindEntry(entries[i]);
            _insertEntry.ExecuteNonQuery();
        }

        if (skip == 0 || skip < entries.Length)
        {
            _insertRecord.Transaction = transaction;
            foreach (IdempotencyRecord record in batch.IdempotencyRecords)
            {
                BindRecord(record);
                _insertRecord.ExecuteNonQuery();
            }
        }

        transaction.Commit();
        if (!entries.IsEmpty)
        {
            ref readonly LedgerEntry last = ref entries[^1];
            _lastSequence = last.Sequence;
            _head.Write(_databaseId, last.Sequence, last.Hash);
        }
    }

    /// <summary>
    /// How many leading entries of the batch are already stored: a retry after a commit whose success was not reported.
    /// They must be the same entries (same hashes); anything else is a gap, a second writer, or damage.
    /// </summary>
    private int AlreadyStored(ReadOnlySpan<LedgerEntry> entries, SqliteTransaction transaction)
    {
        long first = entries[0].Sequence;
        if (first > _lastSequence + 1)
        {
            throw new InvalidOperationException($"Ledger entries must be appended in sequence without gaps: the store ends at {_lastSequence}, the batch starts at {first}. Nothing of this batch was appended.");
        }

        if (first == _lastSequence + 1)
        {
            return 0;
        }

        int stored = (int)Math.Min(entries.Length, _lastSequence - first + 1);
        using SqliteCommand command = _write.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT hash FROM ug_entries WHERE seq = $seq;";
        SqliteParameter seq = command.Parameters.Add("$seq", SqliteType.Integer);
        for (int i = 0; i < stored; i++)
        {
            seq.Value = entries[i].Sequence;
            if (command.ExecuteScalar() is not byte[] hash || LedgerHash.FromBytes(hash) != entries[i].Hash)
            {
                throw new LedgerCorruptedException($"The SQLite ledger store '{_displayName}' already holds a different entry {entries[i].Sequence}: another process writes this ledger, or the file was replaced. Nothing of this batch was appended. One process writes a SQLite ledger.");
            }
        }

        return stored;
    }

    private void PrepareCommands()
    {
        _insertEntry = _write.CreateCommand();
        _insertEntry.CommandText = $"INSERT INTO ug_entries ({EntryColumns}) VALUES ($seq, $ts, $ts_offset, $kind, $customer_id, $credit_type, $block_id, $amount, $scale, $balance_before, $balance_after, $subject, $feature, $model, $session_id, $request_id, $idempotency_key, $reservation_id, $reason, $block_terms, $prev_hash, $hash);";
        foreach (string name in EntryColumns.Split(", "))
        {
            _insertEntry.Parameters.Add("$" + name, SqliteType.Integer);
        }

        _insertRecord = _write.CreateCommand();
        _insertRecord.CommandText = "INSERT INTO ug_idempotency (key_hash, customer_id, key, fingerprint, created_at, outcome) VALUES ($key_hash, $customer_id, $key, $fingerprint, $created_at, $outcome);";
        foreach (string name in new[] { "$key_hash", "$customer_id", "$key", "$fingerprint", "$created_at", "$outcome" })
        {
            _insertRecord.Parameters.Add(name, SqliteType.Integer);
        }
    }

    private void BindEntry(in LedgerEntry e)
    {
        SqliteParameterCollection p = _insertEntry.Parameters;
        p[0].Value = e.Sequence;
        p[1].Value = e.Timestamp.UtcTicks;
        p[2].Value = (long)e.Timestamp.Offset.TotalMinutes;
        p[3].Value = (long)e.Kind;
        p[4].Value = e.CustomerId;
        p[5].Value = e.CreditType;
        p[6].Value = e.BlockId is Guid block ? block.ToByteArray() : DBNull.Value;
        p[7].Value = e.Amount.Units;
        p[8].Value = (long)e.Amount.Scale;
        p[9].Value = e.BalanceBefore.Units;
        p[10].Value = e.BalanceAfter.Units;
        p[11].Value = (object?)e.Subject ?? DBNull.Value;
        p[12].Value = (object?)e.Feature ?? DBNull.Value;
        p[13].Value = (object?)e.Model ?? DBNull.Value;
        p[14].Value = (object?)e.SessionId ?? DBNull.Value;
        p[15].Value = (object?)e.RequestId ?? DBNull.Value;
        p[16].Value = (object?)e.IdempotencyKey ?? DBNull.Value;
        p[17].Value = e.ReservationId is long reservation ? reservation : DBNull.Value;
        p[18].Value = (object?)e.Reason ?? DBNull.Value;
        p[19].Value = e.Block is { } terms ? StoreCodec.EncodeBlock(terms) : DBNull.Value;
        p[20].Value = HashBytes(e.PreviousHash);
        p[21].Value = HashBytes(e.Hash);
    }

    private void BindRecord(IdempotencyRecord r)
    {
        SqliteParameterCollection p = _insertRecord.Parameters;
        p[0].Value = KeyHash(r.CustomerId, r.Key);
        p[1].Value = r.CustomerId;
        p[2].Value = r.Key;
        p[3].Value = r.Fingerprint;
        p[4].Value = r.CreatedAt.UtcTicks;
        p[5].Value = r.Outcome;
    }

    private static byte[] HashBytes(LedgerHash hash)
    {
        byte[] bytes = new byte[LedgerHash.Size];
        hash.CopyTo(bytes);
        return bytes;
    }

    /// <summary>A stable 64-bit FNV-1a hash of customer and key (string hash codes are randomized per process).</summary>
    internal static long KeyHash(string customerId, string key)
    {
        const ulong prime = 1099511628211;
        ulong hash = 14695981039346656037;
        foreach (char c in customerId)
        {
            hash = (hash ^ c) * prime;
        }

        hash = (hash ^ 0x1f) * prime;
        foreach (char c in key)
        {
            hash = (hash ^ c) * prime;
        }

        return unchecked((long)hash);
    }
}
