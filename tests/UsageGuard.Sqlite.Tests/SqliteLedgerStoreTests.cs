using FluentAssertions;
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
