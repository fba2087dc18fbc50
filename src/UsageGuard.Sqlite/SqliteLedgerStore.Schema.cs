using Microsoft.Data.Sqlite;

namespace UsageGuard.Sqlite;

public sealed partial class SqliteLedgerStore
{
    // Columns added by a later schema version go at the end, so the ordinals of the ones before never move.
    internal const string EntryColumns =
        "seq, ts, ts_offset, kind, customer_id, credit_type, block_id, amount, scale, balance_before, balance_after, " +
        "subject, feature, model, session_id, request_id, idempotency_key, reservation_id, reason, block_terms, prev_hash, hash, " +
        "catalog_version, usage, budgeted, settlement";

    /// <summary>Version 1. Every later version is a step added below it, applied in order in one transaction each.</summary>
    /// <remarks>
    /// <para>Entries have no secondary index: they are appended in sequence order, so a commit dirties only the last pages of
    /// the table. Which entries belong to a customer is kept in a separate file by <see cref="CustomerIndex"/>.</para>
    /// <para>Idempotency records are found by a 64-bit hash of customer and key, not by a unique index on the key text: a
    /// B-tree over random text keys makes every commit rewrite pages all over the index (measured at a fifth of the
    /// throughput of time-ordered keys). The integer index is small enough to stay in the page cache, and the engine,
    /// which claims keys in memory, is what keeps keys unique.</para>
    /// </remarks>
    private const string SchemaV1 = """
        CREATE TABLE ug_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE ug_entries (
            seq INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            ts_offset INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            customer_id TEXT NOT NULL,
            credit_type TEXT NOT NULL,
            block_id BLOB,
            amount INTEGER NOT NULL,
            scale INTEGER NOT NULL,
            balance_before INTEGER NOT NULL,
            balance_after INTEGER NOT NULL,
            subject TEXT,
            feature TEXT,
            model TEXT,
            session_id TEXT,
            request_id TEXT,
            idempotency_key TEXT,
            reservation_id INTEGER,
            reason TEXT,
            block_terms TEXT,
            prev_hash BLOB NOT NULL,
            hash BLOB NOT NULL);
        CREATE TABLE ug_idempotency (
            id INTEGER PRIMARY KEY,
            key_hash INTEGER NOT NULL,
            customer_id TEXT NOT NULL,
            key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            outcome TEXT NOT NULL);
        CREATE INDEX ug_idempotency_key ON ug_idempotency (key_hash);
        CREATE INDEX ug_idempotency_created ON ug_idempotency (created_at);
        CREATE TABLE ug_snapshots (
            seq INTEGER PRIMARY KEY,
            payload BLOB NOT NULL,
            checksum BLOB NOT NULL);
        """;

    /// <summary>Version 2: the catalog version of an entry, and a usage entry's meter, quantity and window (JSON).</summary>
    /// <remarks>Entries written before have neither: both columns are null, as for entries that have none now.</remarks>
    private const string SchemaV2 = """
        ALTER TABLE ug_entries ADD COLUMN catalog_version TEXT;
        ALTER TABLE ug_entries ADD COLUMN usage TEXT;
        """;

    /// <summary>Version 3: what a budgeted entry counted (admission instant, tokens, tags; JSON).</summary>
    /// <remarks>Entries written before have none: the column is null, as for every entry of another kind.</remarks>
    private const string SchemaV3 = """
        ALTER TABLE ug_entries ADD COLUMN budgeted TEXT;
        """;

    /// <summary>Version 4: what a settlement charged and for what (its usage event; the binary form of <see cref="SettlementBinary"/>), on its last entry.</summary>
    /// <remarks>Entries written before have none: settlements made by an older release are not usage events.</remarks>
    private const string SchemaV4 = """
        ALTER TABLE ug_entries ADD COLUMN settlement BLOB;
        """;

    /// <summary>Creates or migrates the schema by version number (<c>PRAGMA user_version</c>) and returns the database's id.</summary>
    private Guid Migrate()
    {
        long version = (long)ExecuteScalar("PRAGMA user_version;")!;
        if (version > SchemaVersion)
        {
            throw new UsageGuardException($"The SQLite ledger store '{_displayName}' has schema version {version}, newer than this release of UsageGuard.Sqlite understands ({SchemaVersion}). Upgrade the package; never open a newer ledger with an older release.");
        }

        if (version < 1)
        {
            using SqliteTransaction transaction = _write.BeginTransaction();
            Execute(SchemaV1, transaction);
            using (SqliteCommand id = _write.CreateCommand())
            {
                id.Transaction = transaction;
                id.CommandText = "INSERT INTO ug_meta (name, value) VALUES ('database_id', $id);";
                id.Parameters.AddWithValue("$id", Guid.NewGuid().ToString("N"));
                id.ExecuteNonQuery();
            }

            Execute("PRAGMA user_version = 1;", transaction);
            transaction.Commit();
        }

        if (version < 2)
        {
            using SqliteTransaction transaction = _write.BeginTransaction();
            Execute(SchemaV2, transaction);
            Execute("PRAGMA user_version = 2;", transaction);
            transaction.Commit();
        }

        if (version < 3)
        {
            using SqliteTransaction transaction = _write.BeginTransaction();
            Execute(SchemaV3, transaction);
            Execute("PRAGMA user_version = 3;", transaction);
            transaction.Commit();
        }

        if (version < 4)
        {
            using SqliteTransaction transaction = _write.BeginTransaction();
            Execute(SchemaV4, transaction);
            Execute("PRAGMA user_version = 4;", transaction);
            transaction.Commit();
        }

        if (version < SchemaVersion)
        {
            // Move the new schema (and, in a new file, the database id) out of the WAL into the main file at once: a lost WAL must
            // not also lose the id that ties the head file to this database, or the head check could not notice the loss.
            Execute("PRAGMA wal_checkpoint(TRUNCATE);");
        }

        object? stored = ExecuteScalar("SELECT value FROM ug_meta WHERE name = 'database_id';");
        return stored is string text && Guid.TryParseExact(text, "N", out Guid databaseId)
            ? databaseId
            : throw new LedgerCorruptedException($"The SQLite ledger store '{_displayName}' has no valid database id in ug_meta; it is damaged. Restore it from a backup.");
    }

    /// <summary>Refuses a database that lacks entries the head file says were committed (a damaged or lost WAL, an old backup).</summary>
    private void CheckHead()
    {
        if (_head.Read() is not { } head || head.DatabaseId != _databaseId)
        {
            // No head yet, or the head of another database that once had this name (the file was deleted and created anew).
            return;
        }

        using SqliteCommand command = _write.CreateCommand();
        command.CommandText = "SELECT hash FROM ug_entries WHERE seq = $seq;";
        command.Parameters.AddWithValue("$seq", head.Sequence);
        if (command.ExecuteScalar() is not byte[] hash)
        {
            long last = StoredThrough();
            throw new LedgerCorruptedException($"The SQLite ledger store '{_displayName}' ends at entry {last}, but entry {head.Sequence} was committed (recorded in '{_head.Path}'): committed entries are missing, e.g. from a damaged or deleted '-wal' file. Refusing to start rather than serve wrong balances; restore the newest backup. If you restored an older backup on purpose, delete the head file.");
        }

        if (LedgerHash.FromBytes(hash) != head.Hash)
        {
            throw new LedgerCorruptedException($"The SQLite ledger store '{_displayName}' holds an entry {head.Sequence} that differs from the one committed (recorded in '{_head.Path}'). Refusing to start rather than serve wrong balances; restore the newest backup.");
        }
    }
}
