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
            _lastSequence = StoredThrough(transaction);
        }

        int skip = entries.IsEmpty ? 0 : AlreadyStored(entries, transaction);
        for (int i = 1; i < entries.Length; i++)
        {
            if (entries[i].Sequence != entries[i - 1].Sequence + 1)
            {
                throw new InvalidOperationException($"Ledger entries must be appended in sequence without gaps: entry {entries[i - 1].Sequence} is followed by {entries[i].Sequence}. Nothing of this batch was appended.");
            }
        }

        for (int i = skip; i < entries.Length; i++)
        {
            InsertEntry(entries[i]);
        }

        // A batch whose entries were all committed before had its records committed with them.
        if (skip < entries.Length || entries.IsEmpty)
        {
            foreach (IdempotencyRecord record in batch.IdempotencyRecords)
            {
                InsertRecord(record);
            }
        }

        transaction.Commit();
        if (!entries.IsEmpty)
        {
            ref readonly LedgerEntry last = ref entries[^1];
            _lastSequence = last.Sequence;
            _head.Write(_databaseId, last.Sequence, last.Hash);
            _index.Committed(entries[skip..]);
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
        string[] columns = EntryColumns.Split(", ");
        _insertEntry = new RowStatement(_write, $"INSERT INTO ug_entries ({EntryColumns}) VALUES ({string.Join(", ", columns.Select((_, i) => "?" + (i + 1)))});");
        _insertRecord = new RowStatement(_write, "INSERT INTO ug_idempotency (key_hash, customer_id, key, fingerprint, created_at, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6);");
    }

    private void InsertEntry(in LedgerEntry e)
    {
        RowStatement row = _insertEntry;
        Span<byte> bytes = stackalloc byte[LedgerHash.Size];
        row.Bind(1, e.Sequence);
        row.Bind(2, e.Timestamp.UtcTicks);
        row.Bind(3, (long)e.Timestamp.Offset.TotalMinutes);
        row.Bind(4, (long)e.Kind);
        row.Bind(5, e.CustomerId);
        row.Bind(6, e.CreditType);
        if (e.BlockId is Guid block)
        {
            block.TryWriteBytes(bytes);
            row.Bind(7, bytes[..16]);
        }
        else
        {
            row.BindNull(7);
        }

        row.Bind(8, e.Amount.Units);
        row.Bind(9, e.Amount.Scale);
        row.Bind(10, e.BalanceBefore.Units);
        row.Bind(11, e.BalanceAfter.Units);
        row.Bind(12, e.Subject);
        row.Bind(13, e.Feature);
        row.Bind(14, e.Model);
        row.Bind(15, e.SessionId);
        row.Bind(16, e.RequestId);
        row.Bind(17, e.IdempotencyKey);
        if (e.ReservationId is long reservation)
        {
            row.Bind(18, reservation);
        }
        else
        {
            row.BindNull(18);
        }

        row.Bind(19, e.Reason);
        row.Bind(20, e.Block is { } terms ? StoreCodec.EncodeBlock(terms) : null);
        e.PreviousHash.CopyTo(bytes);
        row.Bind(21, bytes);
        e.Hash.CopyTo(bytes);
        row.Bind(22, bytes);
        row.Bind(23, e.CatalogVersion);
        row.Bind(24, e.Usage is { } usage ? StoreCodec.EncodeUsage(usage) : null);
        row.Bind(25, e.Budgeted is { } budgeted ? StoreCodec.EncodeBudgeted(budgeted) : null);
        if (e.Settlement is { } settled)
        {
            _settlementBytes.ResetWrittenCount();
            SettlementBinary.Encode(settled, _settlementBytes);
            row.Bind(26, _settlementBytes.WrittenSpan);
        }
        else
        {
            row.BindNull(26);
        }

        row.Execute();
    }

    private void InsertRecord(IdempotencyRecord r)
    {
        RowStatement row = _insertRecord;
        row.Bind(1, KeyHash(r.CustomerId, r.Key));
        row.Bind(2, r.CustomerId);
        row.Bind(3, r.Key);
        row.Bind(4, r.Fingerprint);
        row.Bind(5, r.CreatedAt.UtcTicks);
        row.Bind(6, r.Outcome);
        row.Execute();
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
