using System.Diagnostics;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using NUnit.Framework;

namespace UsageGuard.Sqlite.Tests;

/// <summary>
/// Real faults under a running guard: a size-limited file, a full filesystem, a read-only file, a lock held by another
/// connection. The guard fails closed, never half-applies a batch, loses nothing acknowledged, and recovers on its own.
/// </summary>
[TestFixture]
public sealed class SqliteFaultTests : FileFixture
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    [Test]
    public async Task SizeLimitedFile_FailsClosed_AndCommitsOnlyWholeBatches()
    {
        string path = Dir.File("small.db");
        SqliteGuard g = await SqliteGuard.StartAsync(path, configureStore: o => o.MaxDatabaseBytes = 192 * 1024);
        await g.GrantAsync("acme", 1_000_000m);
        var settles = new List<(long Id, Task<SettlementResult> Task)>();

        await FillUntilFailing(g, settles);

        // Fail closed: nothing new is admitted or granted, and nothing is held by the refusal.
        decimal available = g.Ledger.GetBalance("acme").Available.ToDecimal();
        ReservationResult refused = await g.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m });
        refused.Status.Should().Be(ReservationStatus.StoreUnavailable);
        refused.RetryAfter.Should().NotBeNull();
        g.Ledger.GetBalance("acme").Available.ToDecimal().Should().Be(available);
        Func<Task> grant = () => g.GrantAsync("acme", 1m);
        await grant.Should().ThrowAsync<LedgerUnavailableException>();
        g.Gate.Health.LastError.Should().BeOfType<LedgerUnavailableException>().Which.Message.Should().Contain("is full");
        (await new UsageGuardHealthCheck(g.Gate).CheckHealthAsync(new HealthCheckContext())).Status.Should().Be(HealthStatus.Unhealthy);

        // Whole batches or nothing: the stored settlements are exactly the acknowledged ones.
        var acknowledged = settles.Where(s => s.Task.IsCompletedSuccessfully).Select(s => s.Id).ToHashSet();
        settles.Should().Contain(s => !s.Task.IsCompleted, "the batch that did not fit is still waiting");
        List<LedgerEntry> stored = await g.EntriesAsync();
        stored.Where(e => e.Kind == LedgerEntryKind.Settle).Select(e => e.ReservationId!.Value).Should().BeEquivalentTo(acknowledged);
        (await LedgerVerifier.VerifyAsync(g.Store.ReadAsync(0))).IsValid.Should().BeTrue();

        await StopFailing(g);
        foreach ((long _, Task<SettlementResult> task) in settles.Where(s => !acknowledged.Contains(s.Id)))
        {
            await task.Invoking(t => t).Should().ThrowAsync<Exception>("a settlement never acknowledged reports that it was not recorded");
        }

        await using SqliteGuard reopened = await SqliteGuard.StartAsync(path);
        reopened.Balance("acme").Should().Be(1_000_000m - acknowledged.Count);
        (await reopened.Ledger.VerifyAsync()).IsValid.Should().BeTrue();
    }

    [Test]
    public async Task FullFilesystem_FailsClosed_ThenRecoversWithNothingLost()
    {
        string mount = Dir.File("fs");
        if (!TryMountSmallFilesystem(mount, "4m"))
        {
            Assert.Ignore("Mounting a small tmpfs needs root; SizeLimitedFile covers the same path without it.");
        }

        try
        {
            string path = Path.Combine(mount, "ledger.db");
            await using SqliteGuard g = await SqliteGuard.StartAsync(path);
            await g.GrantAsync("acme", 1_000_000m);
            string filler = Path.Combine(mount, "filler");
            FillFilesystem(filler);
            var settles = new List<(long Id, Task<SettlementResult> Task)>();

            await FillUntilFailing(g, settles);
            (await g.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m })).Status.Should().Be(ReservationStatus.StoreUnavailable);

            File.Delete(filler);
            await Task.WhenAll(settles.Select(s => s.Task)).WaitAsync(Patience);

            g.Gate.Health.IsHealthy.Should().BeTrue();
            (await g.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m })).IsAdmitted.Should().BeTrue();
            await g.RestartAsync();
            g.Balance("acme").Should().Be(1_000_000m - settles.Count);
            (await g.EntriesAsync()).Count(e => e.Kind == LedgerEntryKind.Settle).Should().Be(settles.Count);
            (await g.Ledger.VerifyAsync()).IsValid.Should().BeTrue();
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Run("umount", "-l", mount);
        }
    }

    [Test]
    public async Task ReadOnlyFile_IsRefusedAtStart()
    {
        string mount = Dir.File("fs");
        bool root = TryMountSmallFilesystem(mount, "4m");
        string path = Path.Combine(root ? mount : Dir.Path, "ledger.db");
        try
        {
            await using (SqliteGuard g = await SqliteGuard.StartAsync(path))
            {
                await g.GrantAsync("acme", 10m);
            }

            SqliteConnection.ClearAllPools();
            if (root)
            {
                // Root ignores file modes: make the filesystem itself read-only.
                Run("mount", "-o", "remount,ro", mount).Should().Be(0);
            }
            else if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead);
            }

            Func<Task> start = () => SqliteGuard.StartAsync(path);

            (await start.Should().ThrowAsync<LedgerUnavailableException>()).Which.Message.Should().Contain(path).And.MatchRegex("read-only|cannot be opened");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            if (root)
            {
                Run("umount", "-l", mount);
            }
        }
    }

    [Test]
    public async Task LockHeldByAnotherConnection_FailsClosed_ThenRecovers()
    {
        string path = Dir.File("locked.db");
        await using SqliteGuard g = await SqliteGuard.StartAsync(path, configureStore: o => o.BusyTimeout = TimeSpan.FromMilliseconds(200));
        await g.GrantAsync("acme", 100m);
        ReservationResult admitted = await g.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 10m });
        Task<SettlementResult> settle;
        using (SqliteConnection other = RawSqlite.Open(path))
        {
            using SqliteCommand exclusive = other.CreateCommand();
            exclusive.CommandText = "BEGIN EXCLUSIVE;";
            exclusive.ExecuteNonQuery();

            settle = g.Gate.SettleAsync(admitted.Reservation, 4m).AsTask();
            await Eventually(() => !g.Gate.Health.IsHealthy);

            g.Gate.Health.LastError!.Message.Should().Contain("locked by another connection");
            (await g.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m })).Status.Should().Be(ReservationStatus.StoreUnavailable);
            settle.IsCompleted.Should().BeFalse("a durable settlement completes only once committed");
            exclusive.CommandText = "ROLLBACK;";
            exclusive.ExecuteNonQuery();
        }

        (await settle.WaitAsync(Patience)).Charged.ToDecimal().Should().Be(4m);
        await Eventually(() => g.Gate.Health.IsHealthy);
        (await g.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m })).IsAdmitted.Should().BeTrue();
        await g.RestartAsync();
        g.Balance("acme").Should().Be(96m);
    }

    [Test]
    public async Task FailOpen_KeepsAdmittingWhileTheStoreIsLocked_AndRecordsEverythingAfter()
    {
        string path = Dir.File("open.db");
        await using SqliteGuard g = await SqliteGuard.StartAsync(
            path,
            o => o.StoreFailurePolicy = StoreFailurePolicy.FailOpen,
            o => o.BusyTimeout = TimeSpan.FromMilliseconds(200));
        await g.GrantAsync("acme", 100m);
        var settles = new List<Task<SettlementResult>>();
        using (SqliteConnection other = RawSqlite.Open(path))
        {
            using SqliteCommand exclusive = other.CreateCommand();
            exclusive.CommandText = "BEGIN EXCLUSIVE;";
            exclusive.ExecuteNonQuery();
            settles.Add(Spend(g));
            await Eventually(() => !g.Gate.Health.IsHealthy);

            for (int i = 0; i < 5; i++)
            {
                settles.Add(Spend(g));
            }

            exclusive.CommandText = "ROLLBACK;";
            exclusive.ExecuteNonQuery();
        }

        await Task.WhenAll(settles).WaitAsync(Patience);
        await g.RestartAsync();
        g.Balance("acme").Should().Be(94m);
    }

    private static async Task<SettlementResult> Spend(SqliteGuard g)
    {
        ReservationResult r = await g.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m });
        r.IsAdmitted.Should().BeTrue();
        return await g.Gate.SettleAsync(r.Reservation, 1m);
    }

    /// <summary>Reserves and starts durable settlements, without waiting for them, until the store fails.</summary>
    private static async Task FillUntilFailing(SqliteGuard g, List<(long Id, Task<SettlementResult> Task)> settles)
    {
        var clock = Stopwatch.StartNew();
        while (g.Gate.Health.IsHealthy)
        {
            clock.Elapsed.Should().BeLessThan(Patience, "the store should have filled up");
            ReservationResult r = await g.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m, Subject = new string('s', 200) });
            if (r.Status == ReservationStatus.StoreUnavailable)
            {
                break;
            }

            r.IsAdmitted.Should().BeTrue();
            Task<SettlementResult> settle = g.Gate.SettleAsync(r.Reservation, 1m).AsTask();
            settles.Add((r.Reservation.Id, settle));
            await Task.WhenAny(settle, Task.Delay(5));
        }

        // Let every batch that will commit do so; the one that does not fit keeps failing.
        await Task.Delay(300);
    }

    /// <summary>Stops a guard whose store keeps failing: the writer gives up after a few attempts and says so.</summary>
    private static async Task StopFailing(SqliteGuard g)
    {
        Func<Task> stop = () => g.Guard.DisposeAsync().AsTask();
        await stop.Should().ThrowAsync<LedgerUnavailableException>();
        g.Store.Dispose();
    }

    private static async Task Eventually(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            clock.Elapsed.Should().BeLessThan(Patience);
            await Task.Delay(10);
        }
    }

    private static bool TryMountSmallFilesystem(string mount, string size)
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            return false;
        }

        Directory.CreateDirectory(mount);
        return Run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", mount) == 0;
    }

    private static void FillFilesystem(string filler)
    {
        byte[] block = new byte[64 * 1024];
        using FileStream file = File.Create(filler);
        try
        {
            while (true)
            {
                file.Write(block);
                file.Flush(flushToDisk: true);
            }
        }
        catch (IOException)
        {
            // No space left: exactly what the test wants.
        }
    }

    private static int Run(string program, params string[] args)
    {
        using Process process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        process.WaitForExit();
        return process.ExitCode;
    }
}
