using System.Diagnostics;
using System.Globalization;
using FluentAssertions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Sqlite.Tests;

/// <summary>
/// kill -9 at random moments: a child process (UsageGuard.Sqlite.CrashHost) settles 1-credit reservations against one
/// SQLite file and acknowledges each completed settlement on stdout; the test kills it with SIGKILL, then opens the file
/// in-process and checks what survived. Every iteration reuses the file, so each one also recovers from the kill before.
/// </summary>
/// <remarks>Set <c>USAGEGUARD_CRASH_SEED</c> to replay the kill schedule of a failed run (timing still varies).</remarks>
[TestFixture]
[NonParallelizable]
public sealed class CrashRecoveryTests : FileFixture
{
    private const string Customer = "acme";
    private const int DurableIterations = 50;
    private const int WriteBehindIterations = 10;
    private const int WriteBehindQueueCapacity = 256;
    private const int WriteBehindMaxBatchSize = 128;
    private const int MaxKillAfterAcks = 300;
    private const int MaxKillAfterMilliseconds = 300;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan AckTimeout = TimeSpan.FromSeconds(30);

    [Test]
    [CancelAfter(300_000)]
    public async Task Kill9_Durable_EveryAcknowledgedSettlementIsStoredAndTheLedgerVerifies(CancellationToken cancellationToken)
    {
        string db = Dir.File("crash-durable.db");
        var random = new Random(Seed());
        var acked = new List<long>();
        var clock = Stopwatch.StartNew();
        for (int iteration = 0; iteration < DurableIterations; iteration++)
        {
            IReadOnlyList<long> acks = await RunAndKillAsync(db, random, ["durable"], cancellationToken);
            acked.AddRange(acks);
            Recovered recovered = await RecoverAsync(db, cancellationToken);
            List<long> missing = recovered.Missing(acked);
            TestContext.Out.WriteLine($"iteration {iteration}: {acks.Count} acked, {recovered.SettleCount} settled in all, {missing.Count} missing, {clock.Elapsed.TotalSeconds:F1} s");

            missing.Should().BeEmpty(
                "a durable settlement is acknowledged only after its batch committed (iteration {0}; first missing: {1})",
                iteration,
                string.Join(", ", missing.Take(10)));
        }

        TestContext.Out.WriteLine($"{DurableIterations} kills, {acked.Count} acknowledged settlements, {clock.Elapsed.TotalSeconds:F1} s");
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task Kill9_WriteBehind_LosesAtMostTheQueueAndOneBatchAndTheLedgerVerifies(CancellationToken cancellationToken)
    {
        const int lossWindow = WriteBehindQueueCapacity + WriteBehindMaxBatchSize;
        string db = Dir.File("crash-writebehind.db");
        var random = new Random(Seed());
        var acked = new List<long>();
        int lostBefore = 0;
        var clock = Stopwatch.StartNew();
        for (int iteration = 0; iteration < WriteBehindIterations; iteration++)
        {
            IReadOnlyList<long> acks = await RunAndKillAsync(
                db,
                random,
                ["writebehind", WriteBehindQueueCapacity.ToString(CultureInfo.InvariantCulture), WriteBehindMaxBatchSize.ToString(CultureInfo.InvariantCulture)],
                cancellationToken);
            acked.AddRange(acks);
            Recovered recovered = await RecoverAsync(db, cancellationToken);
            int lost = recovered.Missing(acked).Count - lostBefore;
            TestContext.Out.WriteLine($"iteration {iteration}: {acks.Count} acked, {recovered.SettleCount} settled in all, {lost} lost by this kill, {clock.Elapsed.TotalSeconds:F1} s");

            lost.Should().BeInRange(0, lossWindow, "a kill loses at most what was queued ({0}) and the batch being committed ({1}) (iteration {2})", WriteBehindQueueCapacity, WriteBehindMaxBatchSize, iteration);
            lostBefore += lost;
        }

        TestContext.Out.WriteLine($"{WriteBehindIterations} kills, {acked.Count} acknowledged settlements, {lostBefore} lost, {clock.Elapsed.TotalSeconds:F1} s");
    }

    private static int Seed()
    {
        int seed = Environment.GetEnvironmentVariable("USAGEGUARD_CRASH_SEED") is { Length: > 0 } text
            ? int.Parse(text, CultureInfo.InvariantCulture)
            : Random.Shared.Next();
        TestContext.Out.WriteLine($"seed {seed} (USAGEGUARD_CRASH_SEED={seed} replays this kill schedule)");
        return seed;
    }

    /// <summary>Starts the child, kills it after a random number of acks or a random delay after it is ready, and returns every id it acknowledged.</summary>
    private static async Task<IReadOnlyList<long>> RunAndKillAsync(string db, Random random, string[] mode, CancellationToken cancellationToken)
    {
        using CrashHostProcess child = CrashHostProcess.Start([db, .. mode]);
        await child.WaitReadyAsync(ReadyTimeout, cancellationToken);
        if (random.Next(2) == 0)
        {
            await child.WaitForAcksAsync(random.Next(MaxKillAfterAcks + 1), AckTimeout, cancellationToken);
        }
        else
        {
            await Task.Delay(random.Next(MaxKillAfterMilliseconds + 1), cancellationToken);
        }

        await child.KillAndDrainAsync(cancellationToken);
        child.Unexpected.Should().BeEmpty("the crash host prints only 'ready' and acks (stderr: {0})", child.Stderr);
        child.Stderr.Should().BeEmpty();
        return child.Acks;
    }

    /// <summary>Opens the file as a restarted process would, checks the chain and the balance against the entries, and returns what was settled.</summary>
    private static async Task<Recovered> RecoverAsync(string db, CancellationToken cancellationToken)
    {
        await using SqliteGuard guard = await SqliteGuard.StartAsync(
            db,
            o => o.SettlementDurability = Durability.Durable,
            time: new ManualTimeProvider(TimeProvider.System.GetUtcNow()));

        LedgerVerificationResult verification = await guard.Ledger.VerifyAsync(cancellationToken);
        verification.IsValid.Should().BeTrue("the chain must verify after a kill: {0}", verification.Problem);

        var settled = new HashSet<long>();
        int settleCount = 0;
        int grants = 0;
        decimal granted = 0;
        LedgerEntry? last = null;
        foreach (LedgerEntry entry in await guard.EntriesAsync())
        {
            if (entry.CustomerId != Customer)
            {
                continue;
            }

            last = entry;
            if (entry.Kind == LedgerEntryKind.Settle)
            {
                settleCount++;
                entry.Amount.ToDecimal().Should().Be(-1m, "each settlement charges exactly 1 (entry {0})", entry.Sequence);
                entry.ReservationId.Should().NotBeNull("a settlement names its reservation (entry {0})", entry.Sequence);
                settled.Add(entry.ReservationId!.Value).Should().BeTrue("a reservation is settled once, and ids grow across restarts (entry {0})", entry.Sequence);
            }
            else if (entry.Kind == LedgerEntryKind.Grant)
            {
                grants++;
                granted += entry.Amount.ToDecimal();
            }
            else
            {
                Assert.Fail($"Unexpected {entry.Kind} entry {entry.Sequence}: the crash host only grants and settles.");
            }
        }

        grants.Should().Be(1, "the seed grant is keyed, so a restart never grants it twice");
        decimal balance = guard.Balance(Customer);
        balance.Should().Be(last!.Value.BalanceAfter.ToDecimal(), "the replayed balance is the last entry's balance after");
        balance.Should().Be(granted - settleCount, "every settlement charged 1");
        return new Recovered(settled, settleCount);
    }

    private sealed record Recovered(HashSet<long> Settled, int SettleCount)
    {
        public List<long> Missing(IEnumerable<long> acked) => acked.Where(id => !Settled.Contains(id)).ToList();
    }
}
