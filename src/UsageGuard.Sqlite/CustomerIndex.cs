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
/// milliseconds.</para>
/// <para>Why posting lists: a row per entry, even filled apart, cost the indexer about 2 µs an entry (reading the entries
/// back, sorting them, one B-tree insert each), a third of the machine at the store's peak on two cores. A step now writes one
/// row per customer it saw: the customer's sequence numbers of that step, delta-encoded, keyed by (step, customer). Keyed
/// by the step first, a step's rows are appended at the end of the table: keyed by the customer first, a step dirtied one
/// page per customer (4 KB written, and copied again by the checkpoint, for every 8 entries with a thousand customers).
/// A query walks the steps after its starting point and looks its customer up in each. The writer hands each committed batch's customers and sequence numbers to the indexer in memory, so the ledger is
/// read back only to catch up (after a start, a rebuild, or when the indexer fell too far behind).</para>
/// <para>The index is derived data: it is written without fsync (a process crash cannot damage it; an OS crash may), and a
/// missing, damaged, foreign or older-format index file is rebuilt from the entries. Queries read it up to its mark
/// (<c>indexed_through</c>) and scan the ledger's entries after the mark, so an index that lags costs time, never a wrong
/// answer.</para>
/// </remarks>
internal sealed class CustomerIndex : IDisposable
{
    /// <summary>The index file's format; a file of another format is rebuilt.</summary>
    private const string Format = "postings-2";

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS ug_index_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS ug_index_steps (through INTEGER PRIMARY KEY);
        CREATE TABLE IF NOT EXISTS ug_customer_postings (through INTEGER NOT NULL, customer_id TEXT NOT NULL, seqs BLOB NOT NULL, PRIMARY KEY (through, customer_id)) WITHOUT ROWID;
        """;

    /// <summary>The most entries one step indexes.</summary>
    private const int MaxStep = 65_536;

    private readonly string _path;
    private readonly string _ledgerReadConnectionString;
    private readonly string _writeConnectionString;
    private readonly Guid _databaseId;
    private readonly int _indexEvery;

    // The most committed entries held in memory for the indexer (16 bytes each). Past it, the writer drops them and the
    // indexer reads them back from the ledger, so a stuck or slow indexer cannot grow the process without bound.
    private readonly int _handOverLimit;
    private readonly AutoResetEvent _work = new(false);
    private readonly Thread _thread;
    private readonly object _pendingGate = new();
    private SqliteConnection _write = null!;
    private long _committedThrough;
    private long _indexedThrough;
    private volatile bool _stopping;
    private long _failures;
    private long _readBack;

    // Committed entries not yet indexed, handed over by the writer: consecutive sequence numbers from _pendingFirst. Guarded
    // by _pendingGate; the indexer swaps the lists so that neither side copies under the lock.
    private List<Posting> _pending = new();
    private List<Posting>? _spare;
    private long _pendingFirst;

    internal CustomerIndex(string path, string ledgerReadConnectionString, Guid databaseId, long ledgerLastSequence, int indexEvery, int handOverLimit)
    {
        _handOverLimit = handOverLimit;
        _path = path;
        _ledgerReadConnectionString = ledgerReadConnectionString;
        _databaseId = databaseId;
        _indexEvery = indexEvery;
        _committedThrough = ledgerLastSequence;
        _pendingFirst = ledgerLastSequence + 1;
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

    /// <summary>Gets how many entries the indexer has read back from the ledger instead of taking them from the writer (tests read it).</summary>
    internal long ReadBack => Interlocked.Read(ref _readBack);

    /// <summary>Hands the entries of a commit, in sequence order, to the indexer; called by the ledger's writer after each commit.</summary>
    internal void Committed(ReadOnlySpan<LedgerEntry> entries)
    {
        if (entries.IsEmpty)
        {
            return;
        }

        long first = entries[0].Sequence;
        long through = entries[^1].Sequence;
        lock (_pendingGate)
        {
            if (_pending.Count + entries.Length > _handOverLimit || first != _pendingFirst + _pending.Count)
            {
                // Too far behind (or, impossibly, a gap): drop what is held; the indexer reads those entries back instead.
                _pending.Clear();
                _pendingFirst = through + 1;
            }
            else
            {
                foreach (ref readonly LedgerEntry entry in entries)
                {
                    _pending.Add(new Posting(entry.CustomerId, entry.Sequence));
                }
            }
        }

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

    /// <summary>Decodes a posting list (ascending sequence numbers, each stored as its LEB128 difference from the one before).</summary>
    /// <exception cref="InvalidDataException">The list is damaged.</exception>
    internal static void Decode(ReadOnlySpan<byte> blob, List<long> into)
    {
        long value = 0;
        int i = 0;
        while (i < blob.Length)
        {
            long delta = 0;
            int shift = 0;
            byte b;
            do
            {
                if (i == blob.Length || shift > 63)
                {
                    throw new InvalidDataException("A posting list of the customer index is damaged.");
                }

                b = blob[i++];
                delta |= (long)(b & 0x7F) << shift;
                shift += 7;
            }
            while ((b & 0x80) != 0);

            value += delta;
            into.Add(value);
        }
    }

    private static int Encode(List<long> seqs, byte[] into)
    {
        int length = 0;
        long previous = 0;
        foreach (long seq in seqs)
        {
            ulong delta = (ulong)(seq - previous);
            previous = seq;
            while (delta >= 0x80)
            {
                into[length++] = (byte)(delta | 0x80);
                delta >>= 7;
            }

            into[length++] = (byte)delta;
        }

        return length;
    }

    /// <summary>Opens the index and checks it belongs to this ledger, has this format, and is not ahead; false when it must be rebuilt.</summary>
    private bool TryOpen(long ledgerLastSequence)
    {
        try
        {
            _write = new SqliteConnection(_writeConnectionString);
            _write.Open();
            Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;" + Schema);
            string? owner = Scalar("SELECT value FROM ug_index_meta WHERE name = 'database_id';") as string;
            string? format = Scalar("SELECT value FROM ug_index_meta WHERE name = 'format';") as string;
            long mark = Scalar("SELECT CAST(value AS INTEGER) FROM ug_index_meta WHERE name = 'indexed_through';") is long m ? m : -1;
            if (owner != _databaseId.ToString("N") || format != Format || mark < 0 || mark > ledgerLastSequence)
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
            $"INSERT INTO ug_index_meta (name, value) VALUES ('database_id', '{_databaseId:N}'), ('format', '{Format}'), ('indexed_through', '0');");
        _indexedThrough = 0;
    }

    private void Run()
    {
        bool behind = false;
        var readBack = new List<Posting>();
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

            try
            {
                List<Posting> step = TakeHandedOver(from) ?? ReadBackFromLedger(from, target, readBack);
                long through = from + step.Count;
                Fill(step, through);
                step.Clear();
                if (step != readBack)
                {
                    lock (_pendingGate)
                    {
                        _spare = step;
                    }
                }

                behind = through < target;
            }
            catch (Exception)
            {
                // Derived data: a failed step is retried later (from the ledger: what was handed over is gone) and queries scan
                // the longer tail meanwhile. Whatever failed, it must not end this thread with an unhandled exception, which
                // would end the host process.
                Interlocked.Increment(ref _failures);
                behind = false;
                Thread.Sleep(TimeSpan.FromSeconds(1));
            }
        }
    }

    /// <summary>Takes the entries the writer handed over when they continue the index after <paramref name="from"/>; null when they do not.</summary>
    private List<Posting>? TakeHandedOver(long from)
    {
        lock (_pendingGate)
        {
            // Entries read back from the ledger earlier may also be held here: drop those.
            if (_pendingFirst <= from)
            {
                int stale = (int)Math.Min(_pending.Count, from + 1 - _pendingFirst);
                _pending.RemoveRange(0, stale);
                _pendingFirst += stale;
            }

            if (_pendingFirst != from + 1 || _pending.Count == 0)
            {
                return null;
            }

            // Swap rather than copy, so the writer never waits on a copy.
            List<Posting> taken = _pending;
            _pending = _spare ?? new List<Posting>();
            _spare = null;
            _pendingFirst += taken.Count;
            return taken;
        }
    }

    /// <summary>Reads the entries after <paramref name="from"/> back from the ledger, a bounded step at most.</summary>
    private List<Posting> ReadBackFromLedger(long from, long target, List<Posting> step)
    {
        // Bounded, so that a rebuild of a large ledger neither holds one huge transaction nor delays a shutdown.
        long through = Math.Min(target, from + MaxStep);
        step.Clear();
        using var ledger = new SqliteConnection(_ledgerReadConnectionString);
        ledger.Open();
        using SqliteCommand read = ledger.CreateCommand();
        read.CommandText = "SELECT customer_id, seq FROM ug_entries WHERE seq > $from AND seq <= $through ORDER BY seq;";
        read.Parameters.AddWithValue("$from", from);
        read.Parameters.AddWithValue("$through", through);
        using SqliteDataReader rows = read.ExecuteReader();
        while (rows.Read())
        {
            step.Add(new Posting(rows.GetString(0), rows.GetInt64(1)));
        }

        if (step.Count != through - from)
        {
            throw new InvalidOperationException($"The ledger holds {step.Count} entries after {from} through {through}, not {through - from}.");
        }

        Interlocked.Add(ref _readBack, step.Count);
        return step;
    }

    /// <summary>Writes one posting list per customer of the step and moves the mark to <paramref name="through"/>, in one transaction.</summary>
    private void Fill(List<Posting> step, long through)
    {
        var byCustomer = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        int longest = 0;
        foreach (Posting posting in step)
        {
            if (!byCustomer.TryGetValue(posting.CustomerId, out List<long>? seqs))
            {
                seqs = new List<long>();
                byCustomer.Add(posting.CustomerId, seqs);
            }

            seqs.Add(posting.Sequence);
            longest = Math.Max(longest, seqs.Count);
        }

        // At most 10 bytes a sequence number (a 64-bit LEB128 value).
        byte[] blob = new byte[longest * 10];
        using SqliteTransaction transaction = _write.BeginTransaction(deferred: false);
        using (var insert = new RowStatement(_write, "INSERT INTO ug_customer_postings (through, customer_id, seqs) VALUES (?1, ?2, ?3);"))
        {
            foreach ((string customer, List<long> seqs) in byCustomer)
            {
                insert.Bind(1, through);
                insert.Bind(2, customer);
                insert.Bind(3, blob.AsSpan(0, Encode(seqs, blob)));
                insert.Execute();
            }
        }

        using (var stepRow = new RowStatement(_write, "INSERT INTO ug_index_steps (through) VALUES (?1);"))
        {
            stepRow.Bind(1, through);
            stepRow.Execute();
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

    /// <summary>One committed entry's customer and sequence number.</summary>
    private readonly record struct Posting(string CustomerId, long Sequence);
}
