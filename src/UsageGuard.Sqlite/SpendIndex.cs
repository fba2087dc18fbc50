using System.Text;
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
    private const string Format = "spend-1";

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
        """;

    private readonly string _path;
    private readonly string _ledgerReadConnectionString;
    private readonly Guid _databaseId;
    private readonly Lock _gate = new();
    private SqliteConnection _connection = null!;
    private long _rolledThrough;

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

    /// <summary>Gets the last ledger sequence number rolled up.</summary>
    internal long RolledThrough => Volatile.Read(ref _rolledThrough);

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
        SpendGrouping by = query.GroupBy;
        string Dimension(SpendGrouping g, string column) => (by & g) != 0 ? column : $"MIN({column})";
        var dimensions = new List<string> { "credit_type" };
        foreach ((SpendGrouping g, string column) in new[] { (SpendGrouping.Customer, "customer_id"), (SpendGrouping.Day, "day"), (SpendGrouping.Subject, "subject_path"), (SpendGrouping.Model, "model"), (SpendGrouping.Feature, "feature") })
        {
            if ((by & g) != 0)
            {
                dimensions.Add(column);
            }
        }

        var sql = new StringBuilder();
        sql.Append(System.Globalization.CultureInfo.InvariantCulture, $"SELECT {Dimension(SpendGrouping.Day, "day")}, {Dimension(SpendGrouping.Customer, "customer_id")}, credit_type, ");
        sql.Append(System.Globalization.CultureInfo.InvariantCulture, $"{((by & SpendGrouping.Subject) != 0 ? "subject_path" : "''")}, {Dimension(SpendGrouping.Model, "model")}, {Dimension(SpendGrouping.Feature, "feature")}, ");
        sql.Append("SUM(requests), SUM(consumed), SUM(overage), SUM(tokens), SUM(price), SUM(priced), SUM(cost), SUM(costed), MAX(scale) FROM ug_spend_days WHERE day >= $from AND day < $to");
        if (query.CustomerId is not null)
        {
            sql.Append(" AND customer_id = $customer");
        }

        sql.Append(" GROUP BY ").Append(string.Join(", ", dimensions)).Append(';');
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = sql.ToString();
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
            var key = new SpendKey((int)r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5));
            cells.Add(new(key, new SpendTotals
            {
                Requests = r.GetInt64(6),
                Consumed = r.GetInt64(7),
                Overage = r.GetInt64(8),
                Tokens = r.GetInt64(9),
                Price = r.GetInt64(10),
                Priced = r.GetInt64(11),
                Cost = r.GetInt64(12),
                Costed = r.GetInt64(13),
                Scale = (int)r.GetInt64(14),
            }));
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
            _rolledThrough = (long)Scalar("SELECT CAST(value AS INTEGER) FROM ug_spend_meta WHERE name = 'rolled_through';")!;
            using SqliteTransaction snapshot = ledger.BeginTransaction(deferred: true);
            using SqliteCommand read = ledger.CreateCommand();
            read.Transaction = snapshot;
            read.CommandText = """
                SELECT seq, ts, customer_id, credit_type, model, feature, settlement FROM ug_entries
                WHERE seq > $after AND settlement IS NOT NULL ORDER BY seq LIMIT $limit;
                """;
            read.Parameters.AddWithValue("$after", _rolledThrough);
            read.Parameters.AddWithValue("$limit", MaxStep);
            var cells = new Dictionary<SpendKey, SpendTotals>();
            long through = _rolledThrough;
            int count = 0;
            using (SqliteDataReader r = read.ExecuteReader())
            {
                while (r.Read())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var entry = new LedgerEntry
                    {
                        Timestamp = new DateTimeOffset(r.GetInt64(1), TimeSpan.Zero),
                        CustomerId = r.GetString(2),
                        CreditType = r.GetString(3),
                        Model = r.IsDBNull(4) ? null : r.GetString(4),
                        Feature = r.IsDBNull(5) ? null : r.GetString(5),
                        Settlement = StoreCodec.DecodeSettlement(r.GetString(6)),
                    };
                    SpendRollup.Add(cells, entry);
                    through = r.GetInt64(0);
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

            if (!Store(cells, through))
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
    private bool Store(Dictionary<SpendKey, SpendTotals> cells, long through)
    {
        if (through == _rolledThrough)
        {
            return true;
        }

        using SqliteTransaction transaction = _connection.BeginTransaction(deferred: false);
        using (SqliteCommand current = _connection.CreateCommand())
        {
            current.Transaction = transaction;
            current.CommandText = "SELECT CAST(value AS INTEGER) FROM ug_spend_meta WHERE name = 'rolled_through';";
            if ((long)current.ExecuteScalar()! != _rolledThrough)
            {
                transaction.Rollback();
                return false;
            }
        }

        using SqliteCommand upsert = _connection.CreateCommand();
        upsert.Transaction = transaction;
        upsert.CommandText = """
            INSERT INTO ug_spend_days VALUES ($customer, $day, $type, $path, $model, $feature, $requests, $consumed, $overage, $tokens, $price, $priced, $cost, $costed, $scale)
            ON CONFLICT DO UPDATE SET requests = requests + excluded.requests, consumed = consumed + excluded.consumed, overage = overage + excluded.overage,
                tokens = tokens + excluded.tokens, price = price + excluded.price, priced = priced + excluded.priced, cost = cost + excluded.cost, costed = costed + excluded.costed;
            """;
        string[] names = ["$customer", "$day", "$type", "$path", "$model", "$feature", "$requests", "$consumed", "$overage", "$tokens", "$price", "$priced", "$cost", "$costed", "$scale"];
        SqliteParameter[] p = [.. names.Select(n => upsert.Parameters.Add(n, SqliteType.Text))];
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

        using SqliteCommand mark = _connection.CreateCommand();
        mark.Transaction = transaction;
        mark.CommandText = "INSERT INTO ug_spend_meta VALUES ('rolled_through', $through) ON CONFLICT DO UPDATE SET value = excluded.value;";
        mark.Parameters.AddWithValue("$through", through);
        mark.ExecuteNonQuery();
        transaction.Commit();
        Volatile.Write(ref _rolledThrough, through);
        return true;
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

            _rolledThrough = mark;
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
        _rolledThrough = 0;
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
