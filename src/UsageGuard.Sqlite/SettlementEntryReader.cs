using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace UsageGuard.Sqlite;

/// <summary>
/// Reads the entries usage events are made of (<see cref="ISettlementEntrySource"/>) through SQLite's own API: only the columns an
/// event uses, strings shared by their bytes, the settlement record decoded from its bytes. The audit export's reads take this path.
/// </summary>
/// <remarks>
/// Microsoft.Data.Sqlite costs about 130 ns a column on top of SQLite; reading the 18 columns an event needs that way took longer than
/// formatting the event. A row without a settlement record (a block a settlement paid) reads 8 columns.
/// </remarks>
internal static class SettlementEntryReader
{
    private const string Sql = """
        SELECT seq, ts, ts_offset, kind, customer_id, credit_type, block_id, amount, scale, reservation_id, settlement,
               subject, feature, model, session_id, request_id, catalog_version, hash
        FROM ug_entries WHERE seq > ?1 AND seq <= ?2 AND reservation_id IS NOT NULL ORDER BY seq;
        """;

    /// <summary>The last committed sequence number on an open connection.</summary>
    internal static long LastSequence(SqliteConnection connection)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT coalesce(max(seq), 0) FROM ug_entries;";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Reads the settlement entries in (<paramref name="after"/>, <paramref name="through"/>] on a connection it opens when enumerated and disposes at the end.</summary>
    /// <param name="open">Opens a read connection.</param>
    /// <param name="translate">Turns a SQLite error into the store's documented exception (a damaged file, a locked one, ...).</param>
    /// <param name="displayName">The ledger's name in messages.</param>
    /// <param name="after">The sequence number to start after.</param>
    /// <param name="through">The last sequence number read.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    internal static async IAsyncEnumerable<LedgerEntry> ReadAsync(Func<SqliteConnection> open, Func<SqliteException, Exception> translate, string displayName, long after, long through, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        SqliteConnection connection = open();
        sqlite3_stmt? statement = null;
        try
        {
            sqlite3_stmt prepared = null!;
            Check(connection, translate, raw.sqlite3_prepare_v2(connection.Handle, Sql, out prepared), () => raw.sqlite3_prepare_v2(connection.Handle, Sql, out prepared));
            statement = prepared;
            Check(connection, translate, raw.sqlite3_bind_int64(prepared, 1, after), null);
            Check(connection, translate, raw.sqlite3_bind_int64(prepared, 2, through), null);
            var strings = new Utf8Strings();
            using var columns = new NativeColumns(statement);
            while (true)
            {
                int rc = raw.sqlite3_step(prepared);
                if (rc == raw.SQLITE_DONE)
                {
                    break;
                }

                if (rc != raw.SQLITE_ROW && Check(connection, translate, rc, () => raw.sqlite3_step(prepared)) == raw.SQLITE_DONE)
                {
                    break;
                }

                cancellationToken.ThrowIfCancellationRequested();
                yield return Entry(columns, strings, displayName);
            }
        }
        finally
        {
            statement?.Dispose();
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static LedgerEntry Entry(NativeColumns c, Utf8Strings strings, string displayName)
    {
        try
        {
            // What every row gives: a block a settlement paid needs only its kind, block, amount and what ties it to its record.
            var paid = new LedgerEntry
            {
                Sequence = c.Int64(0),
                Timestamp = new DateTimeOffset(c.Int64(1), TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(c.Int64(2))),
                Kind = (LedgerEntryKind)c.Int64(3),
                CustomerId = strings.Get(c.Bytes(4)),
                CreditType = strings.Get(c.Bytes(5)),
                BlockId = c.IsNull(6) ? null : new Guid(c.Bytes(6)),
                Amount = CreditAmount.FromUnits(c.Int64(7), (int)c.Int64(8)),
                ReservationId = c.Int64(9),
            };

            // The row that carries the record gives the rest of the event.
            return c.IsNull(10) ? paid : paid with
            {
                Settlement = SettlementBinary.Decode(c.Bytes(10), strings),
                Subject = Text(c, 11, strings),
                Feature = Text(c, 12, strings),
                Model = Text(c, 13, strings),
                SessionId = Text(c, 14, null),
                RequestId = Text(c, 15, null),
                CatalogVersion = Text(c, 16, strings),
                Hash = LedgerHash.FromBytes(c.Bytes(17)),
            };
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException or System.Text.Json.JsonException or UsageGuardException)
        {
            throw new LedgerCorruptedException($"The SQLite ledger '{displayName}' holds an entry that cannot be read back ({ex.Message}); the file is damaged. Restore it from a backup.", ex);
        }
    }

    private static string? Text(NativeColumns c, int column, Utf8Strings? strings)
    {
        ReadOnlySpan<byte> utf8 = c.Bytes(column);
        if (utf8.IsEmpty && c.IsNull(column))
        {
            return null;
        }

        return strings is null ? System.Text.Encoding.UTF8.GetString(utf8) : strings.Get(utf8);
    }

    /// <summary>
    /// Checks the result code of one call of SQLite's API: returns it when it is a success, or after calling again (<paramref name="again"/>)
    /// while the database is busy or locked (a WAL recovery, a checkpoint), up to 30 s, as Microsoft.Data.Sqlite waits for its
    /// commands; throws the store's exception for an error.
    /// </summary>
    private static int Check(SqliteConnection connection, Func<SqliteException, Exception> translate, int rc, Func<int>? again)
    {
        for (int attempt = 0; ; attempt++)
        {
            if (rc is raw.SQLITE_OK or raw.SQLITE_ROW or raw.SQLITE_DONE)
            {
                return rc;
            }

            if (again is not null && (rc & 0xFF) is raw.SQLITE_BUSY or raw.SQLITE_LOCKED && attempt < BusyAttempts)
            {
                Thread.Sleep(BusyPause);
                rc = again();
                continue;
            }

            throw translate(new SqliteException(raw.sqlite3_errmsg(connection.Handle).utf8_to_string(), rc, raw.sqlite3_extended_errcode(connection.Handle)));
        }
    }

    private const int BusyAttempts = 3_000;
    private static readonly TimeSpan BusyPause = TimeSpan.FromMilliseconds(10);
}
