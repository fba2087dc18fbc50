using Microsoft.Data.Sqlite;

namespace UsageGuard.Benchmarks;

/// <summary>
/// The hand-written durable ledger that group commit is measured against: one SQLite transaction per settlement on one
/// connection (WAL, <c>synchronous=FULL</c>, the same settings as <see cref="Sqlite.SqliteLedgerStore"/>):
/// <c>BEGIN IMMEDIATE</c>, read the balance row, <c>UPDATE</c> it, <c>INSERT</c> one ledger row, <c>COMMIT</c>.
/// Commands are prepared once and reused. No hashing, no engine: the cheapest honest way to make each settlement durable
/// before acknowledging it.
/// </summary>
internal sealed class OneTransactionLedger : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _read;
    private readonly SqliteCommand _update;
    private readonly SqliteCommand _insert;

    internal OneTransactionLedger(string path, int customers, long startingBalance)
    {
        Path = path;
        _connection = new SqliteConnection("Data Source=" + path);
        _connection.Open();
        Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
        Execute("""
            CREATE TABLE balances (customer_id TEXT PRIMARY KEY, balance INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE ledger (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, customer_id TEXT NOT NULL, amount INTEGER NOT NULL, balance_before INTEGER NOT NULL, balance_after INTEGER NOT NULL);
            CREATE INDEX ledger_customer ON ledger (customer_id, id);
            """);
        using (SqliteTransaction transaction = _connection.BeginTransaction())
        using (SqliteCommand seed = _connection.CreateCommand())
        {
            seed.Transaction = transaction;
            seed.CommandText = "INSERT INTO balances (customer_id, balance) VALUES ($customer, $balance);";
            SqliteParameter customer = seed.Parameters.Add("$customer", SqliteType.Text);
            seed.Parameters.AddWithValue("$balance", startingBalance);
            for (int i = 0; i < customers; i++)
            {
                customer.Value = LedgerChain.CustomerId(i);
                seed.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        _read = Prepare("SELECT balance FROM balances WHERE customer_id = $customer;", "$customer");
        _update = Prepare("UPDATE balances SET balance = $balance WHERE customer_id = $customer;", "$balance", "$customer");
        _insert = Prepare("INSERT INTO ledger (ts, customer_id, amount, balance_before, balance_after) VALUES ($ts, $customer, $amount, $before, $after);", "$ts", "$customer", "$amount", "$before", "$after");
    }

    internal string Path { get; }

    /// <summary>Takes <paramref name="amount"/> from the customer's balance and records it, in one committed transaction.</summary>
    internal void Settle(string customer, long amount, long timestamp)
    {
        using SqliteTransaction transaction = _connection.BeginTransaction(deferred: false);
        _read.Transaction = transaction;
        _read.Parameters[0].Value = customer;
        long before = (long)_read.ExecuteScalar()!;
        if (before < amount)
        {
            throw new InvalidOperationException($"The hand-written ledger ran out of credits for {customer}.");
        }

        long after = before - amount;
        _update.Transaction = transaction;
        _update.Parameters[0].Value = after;
        _update.Parameters[1].Value = customer;
        _update.ExecuteNonQuery();
        _insert.Transaction = transaction;
        _insert.Parameters[0].Value = timestamp;
        _insert.Parameters[1].Value = customer;
        _insert.Parameters[2].Value = -amount;
        _insert.Parameters[3].Value = before;
        _insert.Parameters[4].Value = after;
        _insert.ExecuteNonQuery();
        transaction.Commit();
    }

    /// <summary>
    /// The approach most teams start with: read the balance, then <c>UPDATE</c> it, per request, each statement committing on its
    /// own (no transaction, no ledger row). Cheaper than <see cref="Settle"/> by a statement, and wrong under concurrency: two
    /// requests can read the same balance and both spend it.
    /// </summary>
    internal void ReadThenUpdate(string customer, long amount)
    {
        _read.Transaction = null;
        _read.Parameters[0].Value = customer;
        long before = (long)_read.ExecuteScalar()!;
        if (before < amount)
        {
            throw new InvalidOperationException($"The hand-written balance ran out of credits for {customer}.");
        }

        _update.Transaction = null;
        _update.Parameters[0].Value = before - amount;
        _update.Parameters[1].Value = customer;
        _update.ExecuteNonQuery();
    }

    /// <summary>Gets the number of ledger rows written.</summary>
    internal long Rows()
    {
        using SqliteCommand count = _connection.CreateCommand();
        count.CommandText = "SELECT count(*) FROM ledger;";
        return (long)count.ExecuteScalar()!;
    }

    public void Dispose()
    {
        _read.Dispose();
        _update.Dispose();
        _insert.Dispose();
        _connection.Dispose();
        SqliteConnection.ClearPool(new SqliteConnection("Data Source=" + Path));
    }

    private void Execute(string sql)
    {
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private SqliteCommand Prepare(string sql, params string[] parameters)
    {
        SqliteCommand command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (string name in parameters)
        {
            command.Parameters.Add(name, name == "$customer" ? SqliteType.Text : SqliteType.Integer);
        }

        command.Prepare();
        return command;
    }
}
