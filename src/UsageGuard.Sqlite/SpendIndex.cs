using Microsoft.Data.Sqlite;

namespace UsageGuard.Sqlite;

/// <summary>
/// The daily spend rollup of a SQLite ledger, kept in a file of its own (<c>&lt;database&gt;-spend</c>) and brought up to date by the
/// spend query that needs it, so that keeping it never holds up a commit of the ledger.
/// </summary>
/// <remarks>
/// <para>One row per UTC day, customer, credit type, subject path, model and feature, with the sums of the settlements recorded there
/// (<see cref="SpendRollup"/>). A query first rolls up the settlements committed since the last one (reading only the entries that
/// carry a settlement), then sums the rows of its days with SQL: a query over ten million events reads a few thousand rows.</para>
/// <para>Derived data, like the customer index: written without fsync; a missing, damaged or foreign file is rebuilt from the ledger,
/// which only costs time.</para>
/// </remarks>
internal sealed class SpendIndex : IDisposable
{
    private const string Format = "spend-2";

    /// <summary>The most settlements rolled up in one transaction: a long backlog is caught up in bounded memory.</summary>
    private const int MaxStep = 200_000;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS ug_spend_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS ug_spend_days (
            customer_id TEXT NOT NULL, day INTEGER NOT NULL, credit_type TEXT NOT NULL, subject_path TEXT NOT NULL, model TEXT NOT NULL, feature TEXT NOT NULL,
            requests INTEGER NOT NULL, consumed INTEGER NOT NULL, overage INTEGER NOT NULL, tokens INTEGER NOT NULL,
            price INTEGER NOT NULL, priced INTEGER NOT NULL, cost INTEGER NOT NULL, costed INTEGER NOT NULL, scale INTEGER NOT NULL,
            PRIMARY KEY (customer_id, day, credit_type, subject_path, model, feature)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS ug_spend_days_day ON ug_spend_days (day);
        CREATE TABLE IF NOT EXISTS ug_spend_days_coarse (
            customer_id TEXT NOT NULL, day INTEGER NOT NULL, credit_type TEXT NOT NULL, subject_path TEXT NOT NULL, model TEXT NOT NULL, feature TEXT NOT NULL,
            requests INTEGER NOT NULL, consumed INTEGER NOT NULL, overage INTEGER NOT NULL, tokens INTEGER NOT NULL,
            price INTEGER NOT NULL, priced INTEGER NOT NULL, cost INTEGER NOT NULL, costed INTEGER NOT NULL, scale INTEGER NOT NULL,
            PRIMARY KEY (customer_id, day, credit_type, subject_path, model, feature)) WITHOUT ROWID;
        """;

    private readonly string _path;
    private readonly string _ledgerReadConnectionString;
    private readonly Guid _databaseId;
    private readonly Lock _gate = new();
    private SqliteConnection _connection = null!;

    internal SpendIndex(string path, string ledgerReadConnectionString, Guid databaseId)
    {
        _path = path;
        _ledgerReadConnectionString = ledgerReadConnectionString;
        _databaseId = databaseId;
        long ledgerLastSequence;
        using (var ledger = new SqliteConnection(ledgerReadConnectionString))
        {
            ledger.Open();
            using SqliteCommand last = ledger.CreateCommand();
            last.CommandText = "SELECT COALESCE(MAX(seq), 0) FROM ug_entries;";
            ledgerLastSequence = (long)last.ExecuteScalar()!;
        }

        if (!TryOpen(ledgerLastSequence))
        {
            Rebuild();
        }
    }

    internal IReadOnlyList<SpendRow> Query(SpendQuery query, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            CatchUp(cancellationToken);
            return SpendRollup.Group(Cells(query, cancellationToken), query);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _connection.Dispose();
            SqliteConnection.ClearPool(new SqliteConnection(ConnectionString(_path)));
        }
    }

    /// <summary>Sums the rows of the query's days in SQL, by the dimensions it groups by; <see cref="SpendRollup.Group"/> does the rest.</summary>
    private List<KeyValuePair<SpendKey, SpendTotals>> Cells(SpendQuery query, CancellationToken cancellationToken)
    {
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = SpendRollup.CellsSql(query, "ug_spend_days", "$from", "$to", "$customer", static sum => sum);
        command.Parameters.AddWithValue("$from", SpendRollup.DayOf(query.From));
        command.Parameters.AddWithValue("$to", SpendRollup.DayOf(query.To));
        if (query.CustomerId is not null)
        {
            command.Parameters.AddWithValue("$customer", query.CustomerId);
        }

        var cells = new List<KeyValuePair<SpendKey, SpendTotals>>();
        using SqliteDataReader r = command.ExecuteReader();
        while (r.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            cells.Add(SpendRollup.ReadCell(r));
        }

        return cells;
    }

    /// <summary>Rolls up the settlements committed since the mark, a bounded step per transaction.</summary>
    private void CatchUp(CancellationToken cancellationToken)
    {
        using var ledger = new SqliteConnection(_ledgerReadConnectionString);
        ledger.Open();
        while (true)
        {
            // The file's mark, not this process's: the application and an admin tool may both roll up into the same file.
            long mark = (long)Scalar("SELECT CAST(value AS INTEGER) FROM ug_spend_meta WHERE name = 'rolled_through';")!;
            using SqliteTransaction snapshot = ledger.BeginTransaction(deferred: true);
            using SqliteCommand read = ledger.CreateCommand();
            read.Transaction = snapshot;
            read.CommandText = $"""
                SELECT {SpendRollup.SettlementColumns} FROM ug_entries
                WHERE seq > $after AND settlement IS NOT NULL ORDER BY seq LIMIT $limit;
                """;
            read.Parameters.AddWithValue("$after", mark);
            read.Parameters.AddWithValue("$limit", MaxStep);
            var cells = new Dictionary<SpendKey, SpendTotals>();
            var strings = new Utf8Strings();
            long through = mark;
            int count = 0;
            using (SqliteDataReader r = read.ExecuteReader())
            {
                while (r.Read())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    through = SpendRollup.AddRow(cells, r, strings);
                    count++;
                }
            }

            if (count < MaxStep)
            {
                // Everything committed when this snapshot began is rolled up: the mark moves to the ledger's end, past entries that carry no settlement.
                using SqliteCommand last = ledger.CreateCommand();
                last.Transaction = snapshot;
                last.CommandText = "SELECT COALESCE(MAX(seq), 0) FROM ug_entries;";
                through = Math.Max(through, (long)last.ExecuteScalar()!);
            }

            if (!Store(cells, mark, through))
            {
                continue;
            }

            if (count < MaxStep)
            {
                return;
            }
        }
    }

    /// <summary>Adds the cells and moves the mark, unless another process moved the mark since it was read (false: read again).</summary>
    private bool Store(Dictionary<SpendKey, SpendTotals> cells, long mark, long through)
    {
        if (through == mark)
        {
            return true;
        }

        using SqliteTransaction transaction = _connection.BeginTransaction(deferred: false);
        using (SqliteCommand current = _connection.CreateCommand())
        {
            current.Transaction = transaction;
            current.CommandText = "SELECT CAST(value AS INTEGER) FROM ug_spend_meta WHERE name = 'rolled_through';";
            if ((long)current.ExecuteScalar()! != mark)
            {
                transaction.Rollback();
                return false;
            }
        }

        Upsert(transaction, "ug_spend_days", cells);
        Upsert(transaction, "ug_spend_days" + SpendRollup.CoarseSuffix, SpendRollup.Coarsen(cells));
        using SqliteCommand move = _connection.CreateCommand();
        move.Transaction = transaction;
        move.CommandText = "INSERT INTO ug_spend_meta VALUES ('rolled_through', $through) ON CONFLICT DO UPDATE SET value = excluded.value;";
        move.Parameters.AddWithValue("$through", through);
        move.ExecuteNonQuery();
        transaction.Commit();
        return true;
    }

    private void Upsert(SqliteTransaction transaction, string table, Dictionary<SpendKey, SpendTotals> cells)
    {
        using SqliteCommand upsert = _connection.CreateCommand();
        upsert.Transaction = transaction;
        upsert.CommandText = $"""
            INSERT INTO {table} VALUES ($customer, $day, $type, $path, $model, $feature, $requests, $consumed, $overage, $tokens, $price, $priced, $cost, $costed, $scale)
            ON CONFLICT DO UPDATE SET requests = requests + excluded.requests, consumed = consumed + excluded.consumed, overage = overage + excluded.overage,
                tokens = tokens + excluded.tokens, price = price + excluded.price, priced = priced + excluded.priced, cost = cost + excluded.cost, costed = costed + excluded.costed;
            """;
        string[] names = ["$customer", "$day", "$type", "$path", "$model", "$feature", "$requests", "$consumed", "$overage", "$tokens", "$price", "$priced", "$cost", "$costed", "$scale"];
        SqliteParameter[] p = [.. names.Select((n, i) => upsert.Parameters.Add(n, i is 0 or 2 or 3 or 4 or 5 ? SqliteType.Text : SqliteType.Integer))];
        upsert.Prepare();
        foreach ((SpendKey key, SpendTotals t) in cells)
        {
            p[0].Value = key.CustomerId;
            p[1].Value = key.Day;
            p[2].Value = key.CreditType;
            p[3].Value = key.SubjectPath;
            p[4].Value = key.Model;
            p[5].Value = key.Feature;
            p[6].Value = t.Requests;
            p[7].Value = t.Consumed;
            p[8].Value = t.Overage;
            p[9].Value = t.Tokens;
            p[10].Value = t.Price;
            p[11].Value = t.Priced;
            p[12].Value = t.Cost;
            p[13].Value = t.Costed;
            p[14].Value = t.Scale;
            upsert.ExecuteNonQuery();
        }
    }

    private static string ConnectionString(string path) => new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 30 }.ToString();

    private bool TryOpen(long ledgerLastSequence)
    {
        try
        {
            _connection = new SqliteConnection(ConnectionString(_path));
            _connection.Open();
            Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;" + Schema);
            string? owner = Scalar("SELECT value FROM ug_spend_meta WHERE name = 'database_id';") as string;
            string? format = Scalar("SELECT value FROM ug_spend_meta WHERE name = 'format';") as string;
            long mark = Scalar("SELECT CAST(value AS INTEGER) FROM ug_spend_meta WHERE name = 'rolled_through';") is long m ? m : -1;
            if (owner != _databaseId.ToString("N") || format != Format || mark < 0 || mark > ledgerLastSequence)
            {
                _connection.Dispose();
                return false;
            }

            return true;
        }
        catch (SqliteException)
        {
            _connection?.Dispose();
            return false;
        }
    }

    private void Rebuild()
    {
        foreach (string suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            File.Delete(_path + suffix);
        }

        _connection = new SqliteConnection(ConnectionString(_path));
        _connection.Open();
        Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;" + Schema);
        Execute($"INSERT INTO ug_spend_meta VALUES ('database_id', '{_databaseId:N}'), ('format', '{Format}'), ('rolled_through', '0');");
    }

    private void Execute(string sql)
    {
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private object? Scalar(string sql)
    {
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
