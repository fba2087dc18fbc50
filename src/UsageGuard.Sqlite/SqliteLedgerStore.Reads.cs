using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Data.Sqlite;

namespace UsageGuard.Sqlite;

public sealed partial class SqliteLedgerStore
{
    /// <inheritdoc />
    /// <exception cref="LedgerCorruptedException">A stored entry cannot be read back.</exception>
    public async IAsyncEnumerable<LedgerEntry> ReadAsync(long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        SqliteConnection connection = OpenReader();
        try
        {
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = $"SELECT {EntryColumns} FROM ug_entries WHERE seq > $after ORDER BY seq;";
            command.Parameters.AddWithValue("$after", afterSequence);
            using SqliteDataReader reader = Run(command.ExecuteReader, "reading entries");
            while (Run(reader.Read, "reading entries"))
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return ReadEntry(reader);
            }
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    ValueTask<long> ISettlementEntrySource.GetLastSequenceAsync(CancellationToken cancellationToken)
    {
        using SqliteConnection connection = OpenReader();
        return ValueTask.FromResult(Run(() => SettlementEntryReader.LastSequence(connection), "reading entries"));
    }

    /// <inheritdoc />
    IAsyncEnumerable<LedgerEntry> ISettlementEntrySource.ReadSettlementEntriesAsync(long afterSequence, long throughSequence, CancellationToken cancellationToken) =>
        SettlementEntryReader.ReadAsync(OpenReader, ex => Translate(ex, "reading usage events"), _displayName, afterSequence, throughSequence, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// Reads the customer's sequence numbers from the index up to its mark, then those entries (filtered) from the ledger,
    /// then scans the ledger's entries after the mark. The index is read first: everything it names is committed, so the
    /// ledger read that follows sees all of it.
    /// </remarks>
    public ValueTask<IReadOnlyList<LedgerEntry>> QueryAsync(LedgerQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var page = new List<LedgerEntry>(Math.Min(query.Limit, 1024));
        using SqliteConnection ledger = OpenReader();
        using SqliteTransaction ledgerSnapshot = Run(() => ledger.BeginTransaction(deferred: true), "querying entries");
        long indexed;
        try
        {
            indexed = QueryIndexed(ledger, ledgerSnapshot, query, page, cancellationToken);
        }
        catch (Exception ex) when (ex is SqliteException or InvalidDataException)
        {
            // The index is derived data: when it cannot be read, the ledger alone still gives the answer, by a longer scan.
            page.Clear();
            indexed = 0;
        }

        if (page.Count < query.Limit)
        {
            QueryPart(ledger, ledgerSnapshot, query, $"e.seq > {Math.Max(query.AfterSequence, indexed)}", page, cancellationToken);
        }

        return ValueTask.FromResult<IReadOnlyList<LedgerEntry>>(page);
    }

    /// <summary>Adds the matching entries the customer index names to the page, and returns the index's mark.</summary>
    /// <remarks>The ledger's read transaction began before the index is read, but it sees everything the index names: the
    /// index holds only entries that were committed before it was written, and SQLite starts a read snapshot at the first read.</remarks>
    private long QueryIndexed(SqliteConnection ledger, SqliteTransaction ledgerSnapshot, LedgerQuery query, List<LedgerEntry> page, CancellationToken cancellationToken)
    {
        using SqliteConnection index = OpenIndexReader();
        using SqliteTransaction indexSnapshot = index.BeginTransaction(deferred: true);
        long indexed = IndexMark(index, indexSnapshot);
        if (query.AfterSequence >= indexed)
        {
            return indexed;
        }

        using SqliteCommand postings = index.CreateCommand();
        postings.Transaction = indexSnapshot;
        postings.CommandText = """
            SELECT p.seqs FROM ug_index_steps s JOIN ug_customer_postings p ON p.through = s.through AND p.customer_id = $customer
            WHERE s.through > $after AND s.through <= $indexed ORDER BY s.through;
            """;
        postings.Parameters.AddWithValue("$customer", query.CustomerId);
        postings.Parameters.AddWithValue("$after", query.AfterSequence);
        postings.Parameters.AddWithValue("$indexed", indexed);
        using SqliteDataReader reader = postings.ExecuteReader();
        var decoded = new List<long>();
        var chunk = new List<long>(ChunkSize);
        int next = 0;
        bool exhausted = false;
        while (page.Count < query.Limit && !exhausted)
        {
            chunk.Clear();
            while (chunk.Count < ChunkSize)
            {
                if (next == decoded.Count)
                {
                    decoded.Clear();
                    next = 0;
                    if (!reader.Read())
                    {
                        exhausted = true;
                        break;
                    }

                    CustomerIndex.Decode((byte[])reader.GetValue(0), decoded);
                    continue;
                }

                long seq = decoded[next++];
                if (seq > query.AfterSequence)
                {
                    chunk.Add(seq);
                }
            }

            if (chunk.Count > 0)
            {
                QueryPart(ledger, ledgerSnapshot, query, $"e.seq IN ({string.Join(",", chunk)})", page, cancellationToken);
            }
        }

        return indexed;
    }

    private const int ChunkSize = 256;

    /// <summary>Adds the entries that match the query's filters and <paramref name="where"/> to the page, in sequence order, up to its limit.</summary>
    private void QueryPart(SqliteConnection connection, SqliteTransaction snapshot, LedgerQuery query, string where, List<LedgerEntry> page, CancellationToken cancellationToken)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = snapshot;
        var sql = new StringBuilder($"SELECT {EntryColumns} FROM ug_entries e WHERE {where} AND e.customer_id = $customer");
        command.Parameters.AddWithValue("$customer", query.CustomerId);
        Filter(sql, command, "credit_type", query.CreditType);
        Filter(sql, command, "subject", query.Subject);
        Filter(sql, command, "feature", query.Feature);
        Filter(sql, command, "model", query.Model);
        Filter(sql, command, "session_id", query.SessionId);
        if (query.Kind is LedgerEntryKind kind)
        {
            sql.Append(" AND e.kind = $kind");
            command.Parameters.AddWithValue("$kind", (int)kind);
        }

        if (query.From is DateTimeOffset from)
        {
            sql.Append(" AND e.ts >= $from");
            command.Parameters.AddWithValue("$from", from.UtcTicks);
        }

        if (query.To is DateTimeOffset to)
        {
            sql.Append(" AND e.ts < $to");
            command.Parameters.AddWithValue("$to", to.UtcTicks);
        }

        sql.Append(" ORDER BY e.seq LIMIT $limit;");
        command.Parameters.AddWithValue("$limit", query.Limit - page.Count);
        command.CommandText = sql.ToString();
        using SqliteDataReader reader = Run(command.ExecuteReader, "querying entries");
        while (Run(reader.Read, "querying entries"))
        {
            cancellationToken.ThrowIfCancellationRequested();
            page.Add(ReadEntry(reader));
        }
    }

    private SqliteConnection OpenIndexReader() => OpenConnection(_index.ReadConnectionString);

    /// <summary>Opens a connection, disposing it when it cannot be opened.</summary>
    internal static SqliteConnection OpenConnection(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static long IndexMark(SqliteConnection index, SqliteTransaction snapshot)
    {
        using SqliteCommand command = index.CreateCommand();
        command.Transaction = snapshot;
        command.CommandText = "SELECT CAST(value AS INTEGER) FROM ug_index_meta WHERE name = 'indexed_through';";
        return command.ExecuteScalar() is long through ? through : 0;
    }

    /// <inheritdoc />
    public ValueTask<IdempotencyRecord?> FindIdempotencyRecordAsync(string customerId, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(customerId);
        ArgumentNullException.ThrowIfNull(key);
        using SqliteConnection connection = OpenReader();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT customer_id, key, fingerprint, created_at, outcome FROM ug_idempotency WHERE key_hash = $hash AND customer_id = $customer AND key = $key ORDER BY id DESC LIMIT 1;";
        command.Parameters.AddWithValue("$hash", KeyHash(customerId, key));
        command.Parameters.AddWithValue("$customer", customerId);
        command.Parameters.AddWithValue("$key", key);
        using SqliteDataReader reader = Run(command.ExecuteReader, "finding an idempotency key");
        return ValueTask.FromResult(Run(reader.Read, "finding an idempotency key") ? ReadRecord(reader) : null);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<IdempotencyRecord> ReadIdempotencyRecordsAsync(DateTimeOffset createdSince, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        SqliteConnection connection = OpenReader();
        try
        {
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = "SELECT customer_id, key, fingerprint, created_at, outcome FROM ug_idempotency WHERE created_at >= $since ORDER BY id;";
            command.Parameters.AddWithValue("$since", createdSince.UtcTicks);
            using SqliteDataReader reader = Run(command.ExecuteReader, "reading idempotency keys");
            while (Run(reader.Read, "reading idempotency keys"))
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return ReadRecord(reader);
            }
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static void Filter(StringBuilder sql, SqliteCommand command, string column, string? value)
    {
        if (value is not null)
        {
            sql.Append(" AND e.").Append(column).Append(" = $").Append(column);
            command.Parameters.AddWithValue("$" + column, value);
        }
    }

    private T Run<T>(Func<T> read, string action)
    {
        try
        {
            return read();
        }
        catch (SqliteException ex)
        {
            throw Translate(ex, action);
        }
    }

    private LedgerEntry ReadEntry(SqliteDataReader r) => ReadEntry(r, _displayName);

    /// <summary>Reads one row of <see cref="EntryColumns"/>.</summary>
    /// <exception cref="LedgerCorruptedException">The row cannot be read back as an entry.</exception>
    internal static LedgerEntry ReadEntry(SqliteDataReader r, string displayName)
    {
        try
        {
            int scale = r.GetInt32(8);
            return new LedgerEntry
            {
                Sequence = r.GetInt64(0),
                Timestamp = new DateTimeOffset(r.GetInt64(1), TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(r.GetInt64(2))),
                Kind = (LedgerEntryKind)r.GetInt32(3),
                CustomerId = r.GetString(4),
                CreditType = r.GetString(5),
                BlockId = r.IsDBNull(6) ? null : new Guid((byte[])r.GetValue(6)),
                Amount = CreditAmount.FromUnits(r.GetInt64(7), scale),
                BalanceBefore = CreditAmount.FromUnits(r.GetInt64(9), scale),
                BalanceAfter = CreditAmount.FromUnits(r.GetInt64(10), scale),
                Subject = NullableString(r, 11),
                Feature = NullableString(r, 12),
                Model = NullableString(r, 13),
                SessionId = NullableString(r, 14),
                RequestId = NullableString(r, 15),
                IdempotencyKey = NullableString(r, 16),
                ReservationId = r.IsDBNull(17) ? null : r.GetInt64(17),
                Reason = NullableString(r, 18),
                Block = r.IsDBNull(19) ? null : StoreCodec.DecodeBlock(r.GetString(19)),
                Usage = r.IsDBNull(23) ? null : StoreCodec.DecodeUsage(r.GetString(23)),
                Budgeted = r.IsDBNull(24) ? null : StoreCodec.DecodeBudgeted(r.GetString(24)),
                Settlement = r.IsDBNull(25) ? null : SettlementOf(r.GetValue(25)),
                CatalogVersion = NullableString(r, 22),
                PreviousHash = LedgerHash.FromBytes((byte[])r.GetValue(20)),
                Hash = LedgerHash.FromBytes((byte[])r.GetValue(21)),
            };
        }
        catch (Exception ex) when (ex is InvalidCastException or ArgumentException or FormatException or OverflowException or System.Text.Json.JsonException)
        {
            throw new LedgerCorruptedException($"The SQLite ledger store '{displayName}' holds an entry that cannot be read back ({ex.Message}); the file is damaged. Restore it from a backup.", ex);
        }
    }

    /// <summary>A stored settlement record: binary, or JSON text in a ledger written before the binary form.</summary>
    internal static SettlementRecord SettlementOf(object stored) => stored switch
    {
        byte[] bytes => SettlementBinary.Decode(bytes, null),
        string json => StoreCodec.DecodeSettlement(json),
        _ => throw new FormatException($"a settlement record is stored as {stored.GetType().Name}"),
    };

    private static string? NullableString(SqliteDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);

    private static IdempotencyRecord ReadRecord(SqliteDataReader r) => new()
    {
        CustomerId = r.GetString(0),
        Key = r.GetString(1),
        Fingerprint = r.GetString(2),
        CreatedAt = new DateTimeOffset(r.GetInt64(3), TimeSpan.Zero),
        Outcome = r.GetString(4),
    };
}
