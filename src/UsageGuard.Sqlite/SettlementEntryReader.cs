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
        sqlite3? direct = null;
        sqlite3_stmt? statement = null;
        try
        {
            direct = OpenUnshared(connection);
            sqlite3 db = direct ?? connection.Handle!;
            sqlite3_stmt prepared = null!;
            Check(db, translate, raw.sqlite3_prepare_v2(db, Sql, out prepared), () => raw.sqlite3_prepare_v2(db, Sql, out prepared));
            statement = prepared;
            Check(db, translate, raw.sqlite3_bind_int64(prepared, 1, after), null);
            Check(db, translate, raw.sqlite3_bind_int64(prepared, 2, through), null);
            var strings = new Utf8Strings();
            using var columns = new NativeColumns(statement);
            while (true)
            {
                int rc = raw.sqlite3_step(prepared);
                if (rc == raw.SQLITE_DONE)
                {
                    break;
                }

                if (rc != raw.SQLITE_ROW && Check(db, translate, rc, () => raw.sqlite3_step(prepared)) == raw.SQLITE_DONE)
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
            direct?.Dispose();
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Opens a second, read-only handle on the database of <paramref name="connection"/> without SQLite's per-connection mutex, when that
    /// is safe; <see langword="null"/> otherwise (the read then uses <paramref name="connection"/>).
    /// </summary>
    /// <remarks>
    /// SQLite in its serialized mode (SQLitePCLRaw's e_sqlite3 is built so, and Microsoft.Data.Sqlite opens connections so) takes and
    /// releases the connection's mutex on every column call: a tenth of what reading an event costs. A handle opened with
    /// <c>SQLITE_OPEN_NOMUTEX</c> skips it; it is used by one read at a time, which is all the mode asks. Only for a plain database file
    /// read through the bundled e_sqlite3 (<see cref="NativeColumns.CanCallDirectly"/>): no password, VFS or shared cache, which only
    /// Microsoft.Data.Sqlite knows how to apply. When the handle cannot be opened, the read goes on with <paramref name="connection"/>,
    /// whose own errors are the store's.
    /// </remarks>
    internal static sqlite3? OpenUnshared(SqliteConnection connection)
    {
        var options = new SqliteConnectionStringBuilder(connection.ConnectionString);
        string file = connection.DataSource;
        if (!NativeColumns.CanCallDirectly || options.Password.Length > 0 || !string.IsNullOrEmpty(options.Vfs) || options.Cache == SqliteCacheMode.Shared
            || !Path.IsPathFullyQualified(file) || options.DataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (raw.sqlite3_open_v2(file, out sqlite3 handle, raw.SQLITE_OPEN_READONLY | raw.SQLITE_OPEN_NOMUTEX, null) != raw.SQLITE_OK)
        {
            handle.Dispose();
            return null;
        }

        raw.sqlite3_busy_timeout(handle, (int)Math.Min(int.MaxValue, options.DefaultTimeout * 1_000L));
        return handle;
    }

    private static LedgerEntry Entry(NativeColumns c, Utf8Strings strings, string displayName)
    {
        try
        {
            // Every row gives what a block a settlement paid needs: its kind, block, amount and what ties it to its record. The row
            // that carries the record (one in two or three) gives the rest of the event.
            bool record = !c.IsNull(10);
            return new LedgerEntry
            {
                Sequence = c.Int64(0),
                Timestamp = new DateTimeOffset(c.Int64(1), TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(c.Int64(2))),
                Kind = (LedgerEntryKind)c.Int64(3),
                CustomerId = strings.Get(c.Bytes(4)),
                CreditType = strings.Get(c.Bytes(5)),
                BlockId = c.IsNull(6) ? null : new Guid(c.Bytes(6)),
                Amount = CreditAmount.FromUnits(c.Int64(7), (int)c.Int64(8)),
                ReservationId = c.Int64(9),
                Settlement = record ? SettlementBinary.Decode(c.Bytes(10), strings) : null,
                Subject = record ? Text(c, 11, strings) : null,
                Feature = record ? Text(c, 12, strings) : null,
                Model = record ? Text(c, 13, strings) : null,
                SessionId = record ? Text(c, 14, null) : null,
                RequestId = record ? Text(c, 15, null) : null,
                CatalogVersion = record ? Text(c, 16, strings) : null,
                Hash = record ? LedgerHash.FromBytes(c.Bytes(17)) : default,
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
    private static int Check(sqlite3 db, Func<SqliteException, Exception> translate, int rc, Func<int>? again)
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

            throw translate(new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc, raw.sqlite3_extended_errcode(db)));
        }
    }

    private const int BusyAttempts = 3_000;
    private static readonly TimeSpan BusyPause = TimeSpan.FromMilliseconds(10);
}
