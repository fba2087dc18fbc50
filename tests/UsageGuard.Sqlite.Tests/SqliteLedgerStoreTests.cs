using FluentAssertions;
using Microsoft.Data.Sqlite;
using NUnit.Framework;

namespace UsageGuard.Sqlite.Tests;

/// <summary>What opening a SQLite ledger checks: schema version, one writer, and that no committed entry went missing.</summary>
[TestFixture]
public sealed class SqliteLedgerStoreTests : FileFixture
{
    [Test]
    public void Open_ANewFile_CreatesTheSchemaAtTheCurrentVersionInWalMode()
    {
        string path = Dir.File("new.db");
        using (SqliteLedgerStore.Open(path))
        {
        }

        RawSqlite.Scalar(path, "PRAGMA user_version;").Should().Be((long)SqliteLedgerStore.SchemaVersion);
        RawSqlite.Scalar(path, "PRAGMA journal_mode;").Should().Be("wal");
        EntryColumnsOf(path).Should().EndWith(["hash", "catalog_version", "usage", "budgeted", "settlement"]);
    }

    [Test]
    public async Task Open_AVersion1File_MigratesToTheCurrentVersion_ReadsItsEntriesAndAppendsAfterThem()
    {
        string path = Dir.File("v1.db");
        LedgerEntry[] old = Link(null, OverdraftLedgerOfVersion1());
        WriteVersion1File(path, old);
        LedgerEntry[] added = Link(old[^1], UsageAndWriteOff());

        using (SqliteLedgerStore store = SqliteLedgerStore.Open(path))
        {
            SqliteLedgerStore.SchemaVersion.Should().Be(4);
            RawSqlite.Scalar(path, "PRAGMA user_version;").Should().Be(4L);
            (await ReadAll(store)).Should().Equal(old);
            await store.AppendAsync(new LedgerBatch(added, []));
        }

        EntryColumnsOf(path).Should().Equal(Version1Columns.Concat(["catalog_version", "usage", "budgeted", "settlement"]));
        using SqliteLedgerStore reopened = SqliteLedgerStore.Open(path);
        List<LedgerEntry> all = await ReadAll(reopened);
        all.Should().Equal(old.Concat(added));
        all.Take(old.Length).Should().OnlyContain(e => e.CatalogVersion == null && e.Usage == null && e.Budgeted == null);
        (await reopened.QueryAsync(new LedgerQuery { CustomerId = "acme", AfterSequence = 2 })).Should().Equal(all.Skip(2));
        LedgerVerificationResult verified = await LedgerVerifier.VerifyAsync(reopened.ReadAsync(0));
        verified.IsValid.Should().BeTrue(verified.Problem);
        verified.EntriesChecked.Should().Be(old.Length + added.Length);
    }

    [Test]
    public async Task Open_AVersion1FileWithItsHead_StartsAGuardThatGoesOn()
    {
        string path = Dir.File("v1.db");
        LedgerEntry[] old = Link(null, OverdraftLedgerOfVersion1());
        WriteVersion1File(path, old);

        await using SqliteGuard g = await SqliteGuard.StartAsync(path);
        g.Balance("acme").Should().Be(-6m);
        await g.GrantAsync("acme", 10m);

        g.Balance("acme").Should().Be(4m);
        (await g.Ledger.VerifyAsync()).IsValid.Should().BeTrue();
        (await g.EntriesAsync()).Take(old.Length).Should().Equal(old);
    }

    [Test]
    public void Open_AVersion1FileWhoseMigrationFails_LeavesItAtVersion1()
    {
        string path = Dir.File("v1.db");
        WriteVersion1File(path, Link(null, OverdraftLedgerOfVersion1()));

        // The second statement of the step fails: the first must not stay applied without it.
        RawSqlite.Execute(path, "ALTER TABLE ug_entries ADD COLUMN usage TEXT;");

        Action open = () => SqliteLedgerStore.Open(path);

        open.Should().Throw<UsageGuardException>().Which.Message.Should().Contain("duplicate column");
        RawSqlite.Scalar(path, "PRAGMA user_version;").Should().Be(1L);
        EntryColumnsOf(path).Should().NotContain("catalog_version");
    }

    [Test]
    public void Open_TheNextSchemaVersion_IsRefusedAndLeftAlone()
    {
        string path = Dir.File("next.db");
        WriteVersion1File(path, Link(null, OverdraftLedgerOfVersion1()), writeHead: false);
        int next = SqliteLedgerStore.SchemaVersion + 1;
        RawSqlite.Execute(path, $"PRAGMA user_version = {next};");

        Action open = () => SqliteLedgerStore.Open(path);

        open.Should().Throw<UsageGuardException>().Which.Message.Should().Contain($"schema version {next}");
        RawSqlite.Scalar(path, "PRAGMA user_version;").Should().Be(next);
        EntryColumnsOf(path).Should().Equal(Version1Columns);
    }

    [TestCase("UPDATE ug_entries SET budgeted = replace(budgeted, '1234', '1233') WHERE seq = 6;", 6)]
    [TestCase("UPDATE ug_entries SET budgeted = replace(budgeted, '\"eu\"', '\"us\"') WHERE seq = 6;", 6)]
    [TestCase("UPDATE ug_entries SET budgeted = NULL, kind = 8, amount = 1 WHERE seq = 6;", 6)]
    [TestCase("UPDATE ug_entries SET budgeted = NULL WHERE seq = 7;", 7)]
    [TestCase("UPDATE ug_entries SET budgeted = replace(budgeted, '\"CreditUnits\":1000000', '\"CreditUnits\":1') WHERE seq = 7;", 7)]
    [TestCase("UPDATE ug_entries SET catalog_version = 'fedcba9876543211' WHERE seq = 4;")]
    [TestCase("UPDATE ug_entries SET catalog_version = NULL WHERE seq = 4;")]
    [TestCase("UPDATE ug_entries SET usage = replace(usage, '\"Quantity\":3', '\"Quantity\":2') WHERE seq = 4;")]
    [TestCase("UPDATE ug_entries SET usage = NULL WHERE seq = 4;")]
    public async Task StartUp_RefusesAChangedCatalogVersionUsageOrBudgeted_AndVerifyNamesTheEntry(string tamper, int sequence = 4)
    {
        string path = Dir.File("ledger.db");
        using (SqliteLedgerStore store = SqliteLedgerStore.Open(path))
        {
            LedgerEntry[] old = Link(null, OverdraftLedgerOfVersion1());
            await store.AppendAsync(new LedgerBatch(old, []));
            await store.AppendAsync(new LedgerBatch(Link(old[^1], UsageAndWriteOff()), []));
        }

        await using (SqliteGuard intact = await SqliteGuard.StartAsync(path, o => o.SnapshotInterval = 0))
        {
            intact.Balance("acme").Should().Be(0m);
        }

        // Start-up checks every entry after the newest snapshot: without one, all of them.
        RawSqlite.Execute(path, tamper).Should().Be(1);
        RawSqlite.Execute(path, "DELETE FROM ug_snapshots;");

        Func<Task> start = () => SqliteGuard.StartAsync(path);
        (await start.Should().ThrowAsync<LedgerCorruptedException>()).Which.Message.Should().Contain($"sequence {sequence}");
        using var reopened = SqliteLedgerStore.Open(path);
        LedgerVerificationResult verified = await LedgerVerifier.VerifyAsync(reopened.ReadAsync(0));
        verified.FirstBadSequence.Should().Be(sequence);
        verified.Problem.Should().Contain("changed");
    }

    [Test]
    public async Task Read_AUsageThatCannotBeDecoded_IsADamagedStore()
    {
        string path = Dir.File("ledger.db");
        using SqliteLedgerStore store = SqliteLedgerStore.Open(path);
        LedgerEntry[] old = Link(null, OverdraftLedgerOfVersion1());
        await store.AppendAsync(new LedgerBatch(old, []));
        await store.AppendAsync(new LedgerBatch(Link(old[^1], UsageAndWriteOff()), []));
        RawSqlite.Execute(path, "UPDATE ug_entries SET usage = replace(usage, '\"Quantity\":3', '\"Quantity\":-3') WHERE seq = 4;").Should().Be(1);

        Func<Task> read = () => ReadAll(store);

        (await read.Should().ThrowAsync<LedgerCorruptedException>()).Which.Message.Should().Contain("cannot be read back");
    }

    [Test]
    public void Open_ASchemaNewerThanThisRelease_IsRefused()
    {
        string path = Dir.File("newer.db");
        using (SqliteLedgerStore.Open(path))
        {
        }

        RawSqlite.Execute(path, "PRAGMA user_version = 99;");

        Action open = () => SqliteLedgerStore.Open(path);
        open.Should().Throw<UsageGuardException>().Which.Message.Should().Contain("schema version 99");
    }

    [Test]
    public void Open_TheSameFileTwice_RefusesTheSecondWriter()
    {
        string path = Dir.File("one.db");
        using SqliteLedgerStore first = SqliteLedgerStore.Open(path);

        Action second = () => SqliteLedgerStore.Open(path);

        second.Should().Throw<LedgerUnavailableException>().Which.Message.Should().Contain("already open");
    }

    [Test]
    public void Open_AMissingDirectoryOrAMemoryDatabase_IsAClearError()
    {
        Action missing = () => SqliteLedgerStore.Open(Dir.File(Path.Combine("no", "such", "dir", "x.db")));
        Action memory = () => SqliteLedgerStore.Open("Data Source=:memory:");

        missing.Should().Throw<LedgerUnavailableException>().Which.Message.Should().Contain("cannot be opened");
        memory.Should().Throw<ArgumentException>().Which.Message.Should().Contain("InMemoryLedgerStore");
    }

    [Test]
    public async Task Open_AfterTheWalLostCommittedEntries_RefusesToStart()
    {
        string image = await CrashImageAsync();

        File.Delete(image + "-wal");

        Action open = () => SqliteLedgerStore.Open(image);
        open.Should().Throw<LedgerCorruptedException>().Which.Message.Should().Contain("committed entries are missing");
    }

    [Test]
    public async Task Open_AfterBytesFlippedInTheWal_RefusesToStart()
    {
        string image = await CrashImageAsync();

        byte[] wal = File.ReadAllBytes(image + "-wal");
        wal.Length.Should().BeGreaterThan(8192, "the crash image must hold committed frames in its WAL");
        wal[^2000] ^= 0xFF;
        File.WriteAllBytes(image + "-wal", wal);

        Action open = () => SqliteLedgerStore.Open(image);
        open.Should().Throw<LedgerCorruptedException>();
    }

    [Test]
    public async Task Open_ADatabaseCreatedAnewBesideAnOldHeadFile_Starts()
    {
        string path = Dir.File("ledger.db");
        await using (SqliteGuard g = await SqliteGuard.StartAsync(path))
        {
            await g.GrantAsync("acme", 100m);
        }

        File.Delete(path);

        using SqliteLedgerStore store = SqliteLedgerStore.Open(path);
        (await store.LoadLatestSnapshotAsync()).Should().BeNull();
    }

    [Test]
    public async Task LoadLatestSnapshot_WithADamagedPayload_IsRefused()
    {
        string path = Dir.File("ledger.db");
        await using (SqliteGuard g = await SqliteGuard.StartAsync(path))
        {
            await g.GrantAsync("acme", 100m);
        }

        RawSqlite.Execute(path, "UPDATE ug_snapshots SET payload = CAST(replace(payload, X'31', X'32') AS BLOB);");

        Func<Task> start = () => SqliteGuard.StartAsync(path);
        (await start.Should().ThrowAsync<LedgerCorruptedException>()).Which.Message.Should().Contain("damaged snapshot");
    }

    /// <summary>The columns of <c>ug_entries</c> as schema version 1 created them, in order.</summary>
    private static readonly string[] Version1Columns =
    [
        "seq", "ts", "ts_offset", "kind", "customer_id", "credit_type", "block_id", "amount", "scale", "balance_before", "balance_after",
        "subject", "feature", "model", "session_id", "request_id", "idempotency_key", "reservation_id", "reason", "block_terms", "prev_hash", "hash",
    ];

    /// <summary>Debt taken, an overage recorded, more debt: entries of the kinds and fields a version-1 file could hold.</summary>
    private static LedgerEntry[] OverdraftLedgerOfVersion1() =>
    [
        new() { Kind = LedgerEntryKind.Overdraft, Amount = Units(-5_000_000), BalanceBefore = Units(0), BalanceAfter = Units(-5_000_000), Feature = "chat", Model = "m1", ReservationId = 1 },
        new() { Kind = LedgerEntryKind.Overage, Amount = Units(2_000_000), BalanceBefore = Units(-5_000_000), BalanceAfter = Units(-5_000_000), Subject = "acme/eng", IdempotencyKey = "k-2" },
        new() { Kind = LedgerEntryKind.Overdraft, Amount = Units(-1_000_000), BalanceBefore = Units(-5_000_000), BalanceAfter = Units(-6_000_000), SessionId = "s-3", RequestId = "r-3" },
    ];

    /// <summary>What later releases add after them: a usage entry and the debt written off, both under a catalog version, a budgeted entry, and an overage entry that records budget usage.</summary>
    private static LedgerEntry[] UsageAndWriteOff() =>
    [
        new()
        {
            Kind = LedgerEntryKind.Usage, Amount = Units(0), BalanceBefore = Units(-6_000_000), BalanceAfter = Units(-6_000_000), Feature = "chat", ReservationId = 4,
            CatalogVersion = "0123456789abcdef", Usage = new MeteredUsage("feature:chat", 3, UsageWindow.Day, T0, T0.AddDays(1)),
        },
        new() { Kind = LedgerEntryKind.OverdraftWriteOff, Amount = Units(6_000_000), BalanceBefore = Units(-6_000_000), BalanceAfter = Units(0), CatalogVersion = "0123456789abcdef" },
        new()
        {
            Kind = LedgerEntryKind.Budgeted, Amount = Units(0), BalanceBefore = Units(0), BalanceAfter = Units(0), Subject = "search", SessionId = "s-4", ReservationId = 5,
            Budgeted = new BudgetedUsage(T0.AddMinutes(-1), Units(0), 1_234, ["beta", "eu"]),
        },
        new()
        {
            Kind = LedgerEntryKind.Overage, Amount = Units(1_000_000), BalanceBefore = Units(0), BalanceAfter = Units(0), Subject = "search", ReservationId = 6,
            Budgeted = new BudgetedUsage(T0, Units(1_000_000), 0, null),
        },
    ];

    private static readonly DateTimeOffset T0 = new(2026, 8, 1, 0, 0, 0, TimeSpan.FromHours(2));

    private static CreditAmount Units(long units) => CreditAmount.FromUnits(units, 6);

    /// <summary>Numbers, stamps and hashes entries as the ledger writer does, after <paramref name="after"/> (or from the start).</summary>
    private static LedgerEntry[] Link(LedgerEntry? after, LedgerEntry[] entries)
    {
        using var hasher = new LedgerEntryHasher();
        long sequence = after?.Sequence ?? 0;
        LedgerHash previous = after?.Hash ?? LedgerHash.Genesis;
        var linked = new LedgerEntry[entries.Length];
        for (int i = 0; i < entries.Length; i++)
        {
            LedgerEntry e = entries[i] with { Sequence = ++sequence, Timestamp = T0.AddMinutes(sequence), CustomerId = "acme", CreditType = "credits", PreviousHash = previous };
            linked[i] = e with { Hash = hasher.Compute(e, previous) };
            previous = linked[i].Hash;
        }

        return linked;
    }

    /// <summary>
    /// Writes a ledger file as the release with schema version 1 left it: its schema, database id and entries written with
    /// SQL of its own (not by this release's store), and its head file.
    /// </summary>
    private static void WriteVersion1File(string path, LedgerEntry[] entries, bool writeHead = true)
    {
        var databaseId = Guid.NewGuid();
        using (SqliteConnection connection = RawSqlite.Open(path))
        {
            using SqliteTransaction transaction = connection.BeginTransaction();
            using (SqliteCommand schema = connection.CreateCommand())
            {
                schema.Transaction = transaction;
                schema.CommandText = $"""
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
                    INSERT INTO ug_meta (name, value) VALUES ('database_id', '{databaseId:N}');
                    PRAGMA user_version = 1;
                    """;
                schema.ExecuteNonQuery();
            }

            foreach (LedgerEntry e in entries)
            {
                using SqliteCommand insert = connection.CreateCommand();
                insert.Transaction = transaction;
                insert.CommandText = $"INSERT INTO ug_entries ({string.Join(", ", Version1Columns)}) VALUES ({string.Join(", ", Version1Columns.Select(c => "$" + c))});";
                object? Or(object? value) => value ?? DBNull.Value;
                byte[] previous = new byte[LedgerHash.Size];
                byte[] hash = new byte[LedgerHash.Size];
                e.PreviousHash.CopyTo(previous);
                e.Hash.CopyTo(hash);
                object?[] values =
                [
                    e.Sequence, e.Timestamp.UtcTicks, (long)e.Timestamp.Offset.TotalMinutes, (long)e.Kind, e.CustomerId, e.CreditType,
                    e.BlockId?.ToByteArray(), e.Amount.Units, (long)e.Amount.Scale, e.BalanceBefore.Units, e.BalanceAfter.Units,
                    e.Subject, e.Feature, e.Model, e.SessionId, e.RequestId, e.IdempotencyKey, e.ReservationId, e.Reason, null, previous, hash,
                ];
                for (int i = 0; i < Version1Columns.Length; i++)
                {
                    insert.Parameters.AddWithValue("$" + Version1Columns[i], Or(values[i]));
                }

                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        if (writeHead)
        {
            using var head = new HeadFile(Path.GetFullPath(path) + "-head");
            head.Write(databaseId, entries[^1].Sequence, entries[^1].Hash);
        }
    }

    private static List<string> EntryColumnsOf(string path)
    {
        using SqliteConnection connection = RawSqlite.Open(path);
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM pragma_table_info('ug_entries') ORDER BY cid;";
        using SqliteDataReader reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    private static async Task<List<LedgerEntry>> ReadAll(SqliteLedgerStore store)
    {
        var all = new List<LedgerEntry>();
        await foreach (LedgerEntry e in store.ReadAsync(0))
        {
            all.Add(e);
        }

        return all;
    }

    /// <summary>
    /// Runs a guard that commits 21 entries, and copies its files while it still runs: what a disk holds after a crash,
    /// with committed transactions still in the WAL.
    /// </summary>
    private async Task<string> CrashImageAsync()
    {
        string path = Dir.File("ledger.db");
        string image = Path.Combine(Dir.File("image"), "ledger.db");
        Directory.CreateDirectory(Dir.File("image"));
        await using SqliteGuard running = await SqliteGuard.StartAsync(path);
        await running.GrantAsync("acme", 100m);
        for (int i = 0; i < 20; i++)
        {
            await running.SpendAsync("acme", 1m, 1m);
        }

        Copy(path, image);
        return image;
    }

    /// <remarks>Copied with cp: the running store holds an exclusive lock on its head file, which .NET's own file APIs honour.</remarks>
    private static void Copy(string path, string image)
    {
        foreach (string suffix in new[] { string.Empty, "-wal", "-head" })
        {
            using var cp = System.Diagnostics.Process.Start("cp", [path + suffix, image + suffix]);
            cp.WaitForExit();
            cp.ExitCode.Should().Be(0);
        }
    }
}
