using System.Collections.Concurrent;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>Idempotency keys shared by many instances (invariant I3 across instances): a key runs once, whichever instance it reaches.</summary>
[TestFixture]
public sealed class SharedIdempotencyTests
{
    private string _schema = null!;

    [SetUp]
    public void NewSchema() => _schema = PostgresServer.NewSchema();

    [TearDown]
    public Task DropSchema() => PostgresServer.DropSchemaAsync(_schema);

    private static ReservationRequest Keyed(string key, decimal amount) => new() { CustomerId = "acme", Amount = amount, IdempotencyKey = key };

    [Test]
    public async Task AKeyedConsumption_RetriedOnAnotherInstance_IsReplayed_AndChargedOnce()
    {
        await using ServiceProvider a = ManyInstancesTests.Instance(_schema);
        await using ServiceProvider b = ManyInstancesTests.Instance(_schema);
        await a.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 100m });
        var ledgerB = b.GetRequiredService<ICreditLedger>();
        await ManyInstancesTests.WaitUntilAsync(() => ManyInstancesTests.Balance(ledgerB, "acme") == 100m, "B follows the grant");

        ConsumeResult first = await a.GetRequiredService<IEntitlementGuard>().ConsumeAsync(Keyed("req-1", 7m));
        ConsumeResult retried = await b.GetRequiredService<IEntitlementGuard>().ConsumeAsync(Keyed("req-1", 7m));

        first.Status.Should().Be(ReservationStatus.Admitted);
        first.Replayed.Should().BeFalse();
        retried.Replayed.Should().BeTrue();
        retried.Status.Should().Be(ReservationStatus.Admitted);
        retried.Settlement.Charged.Should().Be(first.Settlement.Charged);
        retried.Settlement.ReservationId.Should().Be(first.Settlement.ReservationId);

        // The replay followed the ledger through the first consumption: B's balance already shows it, once.
        ManyInstancesTests.Balance(ledgerB, "acme").Should().Be(93m);
        await Task.Delay(2 * EntitlementGuard.FollowInterval);
        ManyInstancesTests.Balance(ledgerB, "acme").Should().Be(93m);
        ManyInstancesTests.Balance(a.GetRequiredService<ICreditLedger>(), "acme").Should().Be(93m);
    }

    [Test]
    public async Task AKeyUsedOnAnotherInstance_ForAnotherPayload_IsAConflict_AndChargesNothing()
    {
        await using ServiceProvider a = ManyInstancesTests.Instance(_schema);
        await using ServiceProvider b = ManyInstancesTests.Instance(_schema);
        await a.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 100m });
        var ledgerB = b.GetRequiredService<ICreditLedger>();
        await ManyInstancesTests.WaitUntilAsync(() => ManyInstancesTests.Balance(ledgerB, "acme") == 100m, "B follows the grant");
        await a.GetRequiredService<IEntitlementGuard>().ConsumeAsync(Keyed("req-1", 7m));

        Func<Task> other = async () => await b.GetRequiredService<IEntitlementGuard>().ConsumeAsync(Keyed("req-1", 8m));

        (await other.Should().ThrowAsync<IdempotencyConflictException>()).Which.IdempotencyKey.Should().Be("req-1");
        await ManyInstancesTests.WaitUntilAsync(() => ManyInstancesTests.Balance(ledgerB, "acme") == 93m, "B follows A's consumption");
        await Task.Delay(2 * EntitlementGuard.FollowInterval);
        ManyInstancesTests.Balance(ledgerB, "acme").Should().Be(93m);
    }

    [Test]
    public async Task AKeyedGrant_RetriedOnAnotherInstance_ReturnsTheFirstBlock_AndGrantsOnce()
    {
        await using ServiceProvider a = ManyInstancesTests.Instance(_schema);
        await using ServiceProvider b = ManyInstancesTests.Instance(_schema);
        var grant = new CreditGrant { CustomerId = "acme", Amount = 40m, IdempotencyKey = "invoice-7" };

        GrantResult first = await a.GetRequiredService<ICreditLedger>().GrantAsync(grant);
        GrantResult retried = await b.GetRequiredService<ICreditLedger>().GrantAsync(grant);

        retried.Replayed.Should().BeTrue();
        retried.Block.Id.Should().Be(first.Block.Id);
        ManyInstancesTests.Balance(b.GetRequiredService<ICreditLedger>(), "acme").Should().Be(40m);
        await Task.Delay(2 * EntitlementGuard.FollowInterval);
        ManyInstancesTests.Balance(a.GetRequiredService<ICreditLedger>(), "acme").Should().Be(40m);
        ManyInstancesTests.Balance(b.GetRequiredService<ICreditLedger>(), "acme").Should().Be(40m);
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task ThreeInstances_ManyThreads_SendingTheSameKeysAtOnce_RunEachKeyOnce(int seed)
    {
        ServiceProvider[] instances = [ManyInstancesTests.Instance(_schema), ManyInstancesTests.Instance(_schema), ManyInstancesTests.Instance(_schema)];
        try
        {
            await instances[0].GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 1_000m });
            foreach (ServiceProvider instance in instances)
            {
                var ledger = instance.GetRequiredService<ICreditLedger>();
                await ManyInstancesTests.WaitUntilAsync(() => ManyInstancesTests.Balance(ledger, "acme") == 1_000m, "every instance follows the grant");
            }

            const int Keys = 24;
            var results = new ConcurrentBag<(int Key, ConsumeResult Result)>();
            Task[] workers = Enumerable.Range(0, 12).Select(w => Task.Run(async () =>
            {
                var random = new Random((seed * 100) + w);
                var guard = instances[w % instances.Length].GetRequiredService<IEntitlementGuard>();
                foreach (int key in Enumerable.Range(0, Keys).OrderBy(_ => random.Next()))
                {
                    results.Add((key, await guard.ConsumeAsync(Keyed($"k{key}", (key % 3) + 1))));
                }
            })).ToArray();
            await Task.WhenAll(workers);

            results.Should().HaveCount(Keys * 12);
            results.Should().OnlyContain(r => r.Result.Status == ReservationStatus.Admitted);
            foreach (IGrouping<int, (int Key, ConsumeResult Result)> key in results.GroupBy(r => r.Key))
            {
                key.Count(r => !r.Result.Replayed).Should().Be(1, $"key k{key.Key} runs once");
                key.Select(r => r.Result.Settlement.Charged.ToDecimal()).Distinct().Should().Equal((key.Key % 3) + 1m);
            }

            decimal spent = Enumerable.Range(0, Keys).Sum(k => (k % 3) + 1m);
            foreach (ServiceProvider instance in instances)
            {
                var ledger = instance.GetRequiredService<ICreditLedger>();
                await ManyInstancesTests.WaitUntilAsync(() => ManyInstancesTests.Balance(ledger, "acme") == 1_000m - spent, "every instance follows every consumption");
            }

            await Task.Delay(2 * EntitlementGuard.FollowInterval);
            foreach (ServiceProvider instance in instances)
            {
                ManyInstancesTests.Balance(instance.GetRequiredService<ICreditLedger>(), "acme").Should().Be(1_000m - spent);
            }
        }
        finally
        {
            foreach (ServiceProvider instance in instances)
            {
                await instance.DisposeAsync();
            }
        }
    }

    [Test]
    public async Task AKeyStillRunningElsewhere_IsWaitedFor_AndItsOutcomeReplayed()
    {
        await using ServiceProvider a = ManyInstancesTests.Instance(_schema);
        await using ServiceProvider b = ManyInstancesTests.Instance(_schema);
        await a.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 100m });
        ConsumeResult first = await a.GetRequiredService<IEntitlementGuard>().ConsumeAsync(Keyed("req-1", 7m));
        string outcome = (string)(await PostgresServer.ScalarAsync($"SELECT outcome FROM {_schema}.ug_idempotency WHERE key = 'req-1';"))!;

        // The key as another instance holds it while its operation runs: claimed, no outcome yet, the claim alive for a minute.
        long alive = DateTimeOffset.UtcNow.AddMinutes(1).UtcTicks;
        await PostgresServer.ScalarAsync($"UPDATE {_schema}.ug_idempotency SET outcome = NULL, owner = 'elsewhere', claim_expires = {alive} WHERE key = 'req-1';");
        Task<ConsumeResult> waiting = b.GetRequiredService<IEntitlementGuard>().ConsumeAsync(Keyed("req-1", 7m)).AsTask();
        await Task.Delay(500);
        waiting.IsCompleted.Should().BeFalse("the key's operation has not committed yet");

        await PostgresServer.ScalarAsync($"UPDATE {_schema}.ug_idempotency SET outcome = '{outcome}', claim_expires = NULL WHERE key = 'req-1';");
        ConsumeResult replayed = await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        replayed.Replayed.Should().BeTrue();
        replayed.Settlement.Charged.Should().Be(first.Settlement.Charged);
        ManyInstancesTests.Balance(b.GetRequiredService<ICreditLedger>(), "acme").Should().Be(93m);
    }

    [Test]
    public async Task AKeyClaimedByAnInstanceThatStopped_IsTakenOverOnceItsClaimExpires()
    {
        await using ServiceProvider a = ManyInstancesTests.Instance(_schema);
        await a.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 100m });
        await a.GetRequiredService<IEntitlementGuard>().ConsumeAsync(Keyed("req-1", 7m));

        await using ServiceProvider b = ManyInstancesTests.Instance(_schema);
        var ledgerB = b.GetRequiredService<ICreditLedger>();
        await ManyInstancesTests.WaitUntilAsync(() => ManyInstancesTests.Balance(ledgerB, "acme") == 93m, "B follows A");

        // An instance claimed "req-2" (the same payload), then stopped before its batch committed; its claim ends in 1 s.
        var started = DateTimeOffset.UtcNow;
        await PostgresServer.ScalarAsync($"INSERT INTO {_schema}.ug_idempotency (customer_id, key, fingerprint, created_at, outcome, owner, claim_expires) SELECT customer_id, 'req-2', fingerprint, created_at, NULL, 'stopped', {started.AddSeconds(1).UtcTicks} FROM {_schema}.ug_idempotency WHERE key = 'req-1';");
        ConsumeResult taken = await b.GetRequiredService<IEntitlementGuard>().ConsumeAsync(Keyed("req-2", 7m)).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        (DateTimeOffset.UtcNow - started).Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(1), "B waits for the stopped instance's claim to expire");
        taken.Replayed.Should().BeFalse();
        taken.Status.Should().Be(ReservationStatus.Admitted);
        await ManyInstancesTests.WaitUntilAsync(() => ManyInstancesTests.Balance(ledgerB, "acme") == 86m, "the key ran on B");
        (await PostgresServer.ScalarAsync($"SELECT outcome IS NOT NULL AND owner <> 'stopped' FROM {_schema}.ug_idempotency WHERE key = 'req-2';")).Should().Be(true);
    }

    [Test]
    public async Task AKeyedOperationThatThrows_ReleasesItsClaim_SoAnotherInstanceRunsItAtOnce()
    {
        await using ServiceProvider a = ManyInstancesTests.Instance(_schema);
        await using ServiceProvider b = ManyInstancesTests.Instance(_schema);

        // A refund larger than what the blocks used throws (bad input) after the key was claimed: the claim goes.
        var ledgerA = a.GetRequiredService<ICreditLedger>();
        await ledgerA.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 10m });
        var refund = new CreditAdjustment { CustomerId = "acme", Amount = 50m, Reason = "refund", IdempotencyKey = "adj-1" };
        Func<Task> bad = async () => await ledgerA.AdjustAsync(refund);
        await bad.Should().ThrowAsync<ArgumentException>();
        await ManyInstancesTests.WaitUntilAsync(
            () => PostgresServer.ScalarAsync($"SELECT count(*) FROM {_schema}.ug_idempotency WHERE key = 'adj-1';").GetAwaiter().GetResult() is 0L,
            "the claim of the failed operation is released");

        // So the same key on B runs (and fails the same way) at once instead of waiting for a claim nobody will finish.
        var ledgerB = b.GetRequiredService<ICreditLedger>();
        await ManyInstancesTests.WaitUntilAsync(() => ManyInstancesTests.Balance(ledgerB, "acme") == 10m, "B follows the grant");
        Func<Task> again = async () => await ledgerB.AdjustAsync(refund).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        await again.Should().ThrowAsync<ArgumentException>();
    }

    [Test]
    public async Task KeysOlderThanTheRetention_ArePrunedFromTheSharedTable_AsEntriesAreWritten()
    {
        await using ServiceProvider a = ManyInstancesTests.Instance(_schema, guard: o => o.SnapshotInterval = 10);
        await a.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 100m });
        await PostgresServer.ScalarAsync($"INSERT INTO {_schema}.ug_idempotency (customer_id, key, fingerprint, created_at, outcome) VALUES ('acme', 'ancient', 'f', {DateTimeOffset.UtcNow.AddDays(-400).UtcTicks}, '{{}}');");
        var guard = a.GetRequiredService<IEntitlementGuard>();
        for (int i = 0; i < 12; i++)
        {
            (await guard.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m, IdempotencyKey = $"k{i}" })).IsAdmitted.Should().BeTrue();
        }

        await ManyInstancesTests.WaitUntilAsync(
            () => PostgresServer.ScalarAsync($"SELECT count(*) FROM {_schema}.ug_idempotency WHERE key = 'ancient';").GetAwaiter().GetResult() is 0L,
            "the key past the retention is pruned");
        (await PostgresServer.ScalarAsync($"SELECT count(*) FROM {_schema}.ug_idempotency;")).Should().Be(12L, "keys within the retention stay");
    }

    [Test]
    public async Task ABatchRecord_NeverOverwritesAKeyAnotherInstanceTookOver_ButItsEntriesCommit()
    {
        await using PostgreSqlLedgerStore store = await PostgreSqlLedgerStore.CreateAsync(new PostgreSqlLedgerStoreOptions { ConnectionString = PostgresServer.ConnectionString, Schema = _schema, ManyInstances = true });
        ISharedLedgerStore shared = store;
        await using IPoolEscrow escrow = shared.CreateEscrow(new NoOwner(), TimeProvider.System, NullLogger.Instance);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        (await shared.ClaimKeyAsync("acme", "mine", "f1", now, now.AddMinutes(1))).Claimed.Should().BeTrue();
        (await shared.ClaimKeyAsync("acme", "lost", "f1", now, now.AddMinutes(1))).Claimed.Should().BeTrue();

        // This instance paused past its claim on "lost": another instance took the key over meanwhile.
        await PostgresServer.ScalarAsync($"UPDATE {_schema}.ug_idempotency SET owner = 'other' WHERE key = 'lost';");
        var block = new CreditBlock(Guid.NewGuid(), "acme", "credits", CreditAmount.FromUnits(5, 6), now, null, 0, CreditCategory.Paid, null, null, null, now);
        var grant = new LedgerEntry { Timestamp = now, Kind = LedgerEntryKind.Grant, CustomerId = "acme", CreditType = "credits", BlockId = block.Id, Block = block, Amount = block.Amount };
        IdempotencyRecord Record(string key) => new() { CustomerId = "acme", Key = key, Fingerprint = "f1", CreatedAt = now, Outcome = "{}" };
        await shared.AppendUnsequencedAsync(Guid.NewGuid(), new[] { grant }, [Record("mine"), Record("lost")]);

        (await PostgresServer.ScalarAsync($"SELECT outcome FROM {_schema}.ug_idempotency WHERE key = 'mine';")).Should().Be("{}");
        (await PostgresServer.ScalarAsync($"SELECT outcome IS NULL AND owner = 'other' FROM {_schema}.ug_idempotency WHERE key = 'lost';")).Should().Be(true);
        (await PostgresServer.ScalarAsync($"SELECT count(*) FROM {_schema}.ug_entries;")).Should().Be(1L);

        KeyClaim again = await shared.ClaimKeyAsync("acme", "mine", "f1", now, now.AddMinutes(1));
        again.Claimed.Should().BeFalse("a key whose outcome committed is never claimed again");
        again.Outcome.Should().Be("{}");
        (await shared.ClaimKeyAsync("acme", "lost", "f2", now, now.AddMinutes(1))).Fingerprint.Should().Be("f1");
    }

    private sealed class NoOwner : IPoolEscrowOwner
    {
        public void RecordClosedRest(Wallet wallet, BlockAccount block, long units) => throw new AssertionException("No block closes in this test.");
    }
}
