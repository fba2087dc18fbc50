using Microsoft.Data.Sqlite;

namespace UsageGuard.Sqlite;

/// <summary>
/// Which entries belong to which customer, kept in a file of its own (<c>&lt;database&gt;-index</c>) by a thread of its own,
/// so that filling it never holds up a commit of the ledger.
/// </summary>
/// <remarks>
/// <para>Why a separate, deferred index: an index row per entry, written in the ledger's commit, dirties one page per customer
/// per commit, and SQLite writes every dirtied page whole (measured: 4 to 10 KB written per entry with a thousand customers,
/// a third of the throughput); filled in the commit every few thousand entries, sorted, it made those commits take tens of
/// milliseconds. Here the indexer copies committed entries' customer and sequence number, sorted by customer, into its own
/// database, in its own transactions, while the ledger writer goes on.</para>
/// <para>The index is derived data: it is written without fsync (a process crash cannot damage it; an OS crash may), and a
/// missing, damaged or foreign index file is rebuilt from the entries. Queries read it up to its mark (<c>indexed_through</c>)
/// and scan the ledger's entries after the mark, so an index that lags costs time, never a wrong answer.</para>
/// </remarks>
internal sealed class CustomerIndex : IDisposable
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS ug_index_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS ug_customer_entries (customer_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (customer_id, seq)) WITHOUT ROWID;
        """;

    /// <summary>The most entries one step indexes.</summary>
    private const int MaxStep = 65_536;

    private readonly string _path;
    private readonly string _ledgerReadConnectionString;
    private readonly string _writeConnectionString;
    private readonly Guid _databaseId;
    private readonly int _indexEvery;
    private readonly AutoResetEvent _work = new(false);
    private readonly Thread _thread;
    private SqliteConnection _write = null!;
    private long _committedThrough;
    private long _indexedThrough;
    private volatile bool _stopping;
    private long _failures;

    internal CustomerIndex(string path, string ledgerReadConnectionString, Guid databaseId, long ledgerLastSequence, int indexEvery)
    {
        _path = path;
        _ledgerReadConnectionString = ledgerReadConnectionString;
        _databaseId = databaseId;
        _indexEvery = indexEvery;
        _committedThrough = ledgerLastSequence;
        _writeConnectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();
        ReadConnectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly }.ToString();
        if (!TryOpen(ledgerLastSequence))
        {
            Rebuild();
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "UsageGuard SQLite customer index" };
        _thread.Start();
    }

    /// <summary>Gets the connection string of readers of the index.</summary>
    internal string ReadConnectionString { get; }

    /// <summary>Gets the last ledger sequence number whose entries are in the index.</summary>
    internal long IndexedThrough => Volatile.Read(ref _indexedThrough);

    /// <summary>Gets how many times filling the index failed (it is retried; queries stay right meanwhile).</summary>
    internal long Failures => Interlocked.Read(ref _failures);

    /// <summary>Tells the indexer how far the ledger is committed.</summary>
    internal void Committed(long through)
    {
        Volatile.Write(ref _committedThrough, through);
        if (through - Volatile.Read(ref _indexedThrough) >= _indexEvery)
        {
            _work.Set();
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _work.Set();
        _thread.Join();
        _write.Dispose();
        _work.Dispose();
        SqliteConnection.ClearPool(new SqliteConnection(ReadConnectionString));
    }

    /// <summary>Opens the index and checks it belongs to this ledger and is not ahead of it; false when it must be rebuilt.</summary>
    private bool TryOpen(long ledgerLastSequence)
    {
        try
        {
            _write = new SqliteConnection(_writeConnectionString);
            _write.Open();
            Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;" + Schema);
            string? owner = Scalar("SELECT value FROM ug_index_meta WHERE name = 'database_id';") as string;
            long mark = Scalar("SELECT CAST(value AS INTEGER) FROM ug_index_meta WHERE name = 'indexed_through';") is long m ? m : -1;
            if (owner != _databaseId.ToString("N") || mark < 0 || mark > ledgerLastSequence)
            {
                _write.Dispose();
                return false;
            }

            _indexedThrough = mark;
            return true;
        }
        catch (SqliteException)
        {
            _write?.Dispose();
            return false;
        }
    }

    private void Rebuild()
    {
        SqliteConnection.ClearPool(new SqliteConnection(ReadConnectionString));
        foreach (string suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            File.Delete(_path + suffix);
        }

        _write = new SqliteConnection(_writeConnectionString);
        _write.Open();
        Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;" + Schema +
            $"INSERT INTO ug_index_meta (name, value) VALUES ('database_id', '{_databaseId:N}'), ('indexed_through', '0');");
        _indexedThrough = 0;
    }

    private void Run()
    {
        bool behind = false;
        while (!_stopping)
        {
            bool signalled = behind || _work.WaitOne(TimeSpan.FromMilliseconds(200));
            long target = Volatile.Read(ref _committedThrough);
            long from = _indexedThrough;

            // Big steps under load (that is what keeps the index cheap); on a quiet ledger, whatever is there, so tails stay short.
            if (target <= from || (signalled && !behind && target - from < _indexEvery))
            {
                behind = false;
                continue;
            }

            // A bounded step, so that a rebuild of a large ledger neither holds one huge transaction nor delays a shutdown.
            long through = Math.Min(target, from + MaxStep);
            try
            {
                Fill(from, through);
                behind = through < target;
            }
            catch (Exception)
            {
                // Derived data: a failed step is retried later and queries scan the longer tail meanwhile. Whatever failed, it
                // must not end this thread with an unhandled exception, which would end the host process.
                Interlocked.Increment(ref _failures);
                behind = false;
                Thread.Sleep(TimeSpan.FromSeconds(1));
            }
        }
    }

    private void Fill(long from, long through)
    {
        using var ledger = new SqliteConnection(_ledgerReadConnectionString);
        ledger.Open();
        using SqliteCommand read = ledger.CreateCommand();
        read.CommandText = "SELECT customer_id, seq FROM ug_entries WHERE seq > $from AND seq <= $through ORDER BY customer_id, seq;";
        read.Parameters.AddWithValue("$from", from);
        read.Parameters.AddWithValue("$through", through);
        using SqliteTransaction transaction = _write.BeginTransaction(deferred: false);
        using (var insert = new RowStatement(_write, "INSERT OR IGNORE INTO ug_customer_entries (customer_id, seq) VALUES (?1, ?2);"))
        using (SqliteDataReader rows = read.ExecuteReader())
        {
            while (rows.Read())
            {
                insert.Bind(1, rows.GetString(0));
                insert.Bind(2, rows.GetInt64(1));
                insert.Execute();
            }
        }

        using (SqliteCommand mark = _write.CreateCommand())
        {
            mark.Transaction = transaction;
            mark.CommandText = "UPDATE ug_index_meta SET value = $through WHERE name = 'indexed_through';";
            mark.Parameters.AddWithValue("$through", through);
            mark.ExecuteNonQuery();
        }

        transaction.Commit();
        Volatile.Write(ref _indexedThrough, through);
    }

    private void Execute(string sql)
    {
        using SqliteCommand command = _write.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private object? Scalar(string sql)
    {
        using SqliteCommand command = _write.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
