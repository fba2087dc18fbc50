using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace UsageGuard.Sqlite;

/// <summary>
/// A read-only view of a SQLite ledger, for tools that inspect a ledger another process writes (the admin CLI): reads, queries,
/// verification and spend queries, without the writer's lock, and without ever creating, migrating or changing the database.
/// </summary>
/// <remarks>
/// <para>Opens the database file read-only; the file must exist and have this release's schema. Spend queries keep their rollup in
/// the side file <c>&lt;database&gt;-spend</c>, shared safely with the writing process. Appends, snapshots and idempotency writes
/// throw <see cref="NotSupportedException"/>.</para>
/// <para>Thread-safe: every read uses a connection of its own.</para>
/// </remarks>
public sealed class SqliteLedgerReader : ILedgerStore, ISpendQueries, ISettlementEntrySource, IDisposable
{
    private readonly string _connectionString;
    private readonly string _displayName;
    private readonly Lazy<SpendIndex> _spend;
    private bool _disposed;

    private SqliteLedgerReader(string connectionString, string displayName, Guid databaseId)
    {
        _connectionString = connectionString;
        _displayName = displayName;
        _spend = new Lazy<SpendIndex>(() => new SpendIndex(Path.GetFullPath(displayName) + "-spend", connectionString, databaseId));
    }

    /// <summary>Opens a ledger file read-only.</summary>
    /// <param name="connectionStringOrPath">A SQLite connection string (it contains <c>=</c>) or a file path.</param>
    /// <returns>The reader.</returns>
    /// <exception cref="ArgumentException"><paramref name="connectionStringOrPath"/> is empty.</exception>
    /// <exception cref="LedgerUnavailableException">There is no file at that path, or it cannot be read.</exception>
    /// <exception cref="LedgerCorruptedException">The file is not a UsageGuard ledger.</exception>
    /// <exception cref="UsageGuardException">The ledger's schema is older or newer than this release reads.</exception>
    public static SqliteLedgerReader Open(string connectionStringOrPath)
    {
        var builder = new SqliteConnectionStringBuilder(SqliteLedgerStore.ToConnectionString(connectionStringOrPath)) { Mode = SqliteOpenMode.ReadOnly };
        string path = builder.DataSource;
        if (!File.Exists(path))
        {
            throw new LedgerUnavailableException($"There is no SQLite ledger at '{Path.GetFullPath(path)}': the file does not exist. Check the path (a ledger is created by the application, never by a reader).");
        }

        try
        {
            using var connection = new SqliteConnection(builder.ToString());
            connection.Open();
            using SqliteCommand version = connection.CreateCommand();
            version.CommandText = "PRAGMA user_version;";
            long schema = (long)version.ExecuteScalar()!;
            using SqliteCommand id = connection.CreateCommand();
            id.CommandText = "SELECT value FROM ug_meta WHERE name = 'database_id';";
            if (id.ExecuteScalar() is not string text || !Guid.TryParseExact(text, "N", out Guid databaseId))
            {
                throw new LedgerCorruptedException($"'{path}' is a SQLite database but not a UsageGuard ledger (it has no database id).");
            }

            if (schema != SqliteLedgerStore.SchemaVersion)
            {
                throw new UsageGuardException(schema < SqliteLedgerStore.SchemaVersion
                    ? $"The ledger '{path}' has schema version {schema}, written by an older release; start the application on it once (it migrates the file), then read it."
                    : $"The ledger '{path}' has schema version {schema}, newer than this release reads ({SqliteLedgerStore.SchemaVersion}); upgrade the tool.");
            }

            return new SqliteLedgerReader(builder.ToString(), path, databaseId);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 26 or 11)
        {
            throw new LedgerCorruptedException($"'{path}' is not a SQLite database ({ex.Message}).", ex);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 1)
        {
            throw new LedgerCorruptedException($"'{path}' is a SQLite database but not a UsageGuard ledger ({ex.Message}).", ex);
        }
        catch (SqliteException ex)
        {
            throw new LedgerUnavailableException($"The SQLite ledger '{path}' cannot be read: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    /// <exception cref="LedgerCorruptedException">A stored entry cannot be read back.</exception>
    public async IAsyncEnumerable<LedgerEntry> ReadAsync(long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var connection = new SqliteConnection(_connectionString);
        await using (connection.ConfigureAwait(false))
        {
            connection.Open();
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = $"SELECT {SqliteLedgerStore.EntryColumns} FROM ug_entries WHERE seq > $after ORDER BY seq;";
            command.Parameters.AddWithValue("$after", afterSequence);
            using SqliteDataReader reader = command.ExecuteReader();
            while (reader.Read())
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return SqliteLedgerStore.ReadEntry(reader, _displayName);
            }
        }
    }

    /// <inheritdoc />
    ValueTask<long> ISettlementEntrySource.GetLastSequenceAsync(CancellationToken cancellationToken)
    {
        using SqliteConnection connection = Open();
        return ValueTask.FromResult(SettlementEntryReader.LastSequence(connection));
    }

    /// <inheritdoc />
    IAsyncEnumerable<LedgerEntry> ISettlementEntrySource.ReadSettlementEntriesAsync(long afterSequence, long throughSequence, CancellationToken cancellationToken) =>
        SettlementEntryReader.ReadAsync(Open, Translate, _displayName, afterSequence, throughSequence, cancellationToken);

    private Exception Translate(SqliteException ex) => (ex.SqliteErrorCode & 0xFF) is 11 or 26
        ? new LedgerCorruptedException($"The SQLite ledger '{_displayName}' is damaged ({ex.Message}); restore it from a backup.", ex)
        : new LedgerUnavailableException($"The SQLite ledger '{_displayName}' cannot be read: {ex.Message}", ex);

    private SqliteConnection Open()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return SqliteLedgerStore.OpenConnection(_connectionString);
    }

    /// <inheritdoc />
    /// <remarks>Scans the ledger (the reader does not use the writer's customer index).</remarks>
    public async ValueTask<IReadOnlyList<LedgerEntry>> QueryAsync(LedgerQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var page = new List<LedgerEntry>();
        await foreach (LedgerEntry entry in ReadAsync(query.AfterSequence, cancellationToken).ConfigureAwait(false))
        {
            if (query.Matches(entry))
            {
                page.Add(entry);
                if (page.Count == query.Limit)
                {
                    break;
                }
            }
        }

        return page;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SpendRow>> QuerySpendAsync(SpendQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new ValueTask<IReadOnlyList<SpendRow>>(_spend.Value.Query(query, cancellationToken));
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Always: the reader never writes the ledger.</exception>
    public ValueTask AppendAsync(LedgerBatch batch, CancellationToken cancellationToken = default) => throw ReadOnly();

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Always: the reader never writes the ledger.</exception>
    public ValueTask SaveSnapshotAsync(LedgerSnapshot snapshot, CancellationToken cancellationToken = default) => throw ReadOnly();

    /// <inheritdoc />
    /// <remarks>The reader does not read snapshots: tools walk the ledger from its start.</remarks>
    public ValueTask<LedgerSnapshot?> LoadLatestSnapshotAsync(CancellationToken cancellationToken = default) => new((LedgerSnapshot?)null);

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Always: idempotency records belong to the writing process.</exception>
    public ValueTask<IdempotencyRecord?> FindIdempotencyRecordAsync(string customerId, string key, CancellationToken cancellationToken = default) => throw ReadOnly();

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Always: idempotency records belong to the writing process.</exception>
    public IAsyncEnumerable<IdempotencyRecord> ReadIdempotencyRecordsAsync(DateTimeOffset createdSince, CancellationToken cancellationToken = default) => throw ReadOnly();

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Always: the reader never writes the ledger.</exception>
    public ValueTask PruneIdempotencyRecordsAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default) => throw ReadOnly();

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_spend.IsValueCreated)
        {
            _spend.Value.Dispose();
        }

        SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
    }

    private NotSupportedException ReadOnly() => new($"The SQLite ledger reader of '{_displayName}' is read-only; open a SqliteLedgerStore to write.");
}
