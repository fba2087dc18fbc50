using System.Collections.Concurrent;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests.Recharge;

[TestFixture]
public sealed class AutoRechargeTests
{
    private const string Customer = "acme";

    [Test]
    public async Task FixedAmount_BelowThreshold_ChargesOnceAndGrantsTheAmount()
    {
        var handler = new TestHandler();
        await using var h = await StartAsync(handler, new AutoRechargeOptions { CustomerId = Customer, Threshold = 20, Amount = 50, CostBasis = 0.01m });
        await h.GrantAsync(Customer, 100);

        (await Consume(h, 85)).IsAdmitted.Should().BeTrue();
        await QuietAsync(h);

        handler.Requests.Should().ContainSingle();
        RechargeRequest request = handler.Requests[0];
        request.CustomerId.Should().Be(Customer);
        request.CreditType.Should().Be("credits");
        request.Amount.Should().Be(50);
        request.CostBasis.Should().Be(0.01m);
        request.Attempt.Should().Be(1);
        request.RechargeId.Should().MatchRegex("^[0-9a-f]{32}$").And.Be(RechargeWorker.RechargeIdFor(Customer, "credits", 1));
        request.Reason.Should().Contain("below the threshold 20");
        h.Available(Customer).Should().Be(65);

        CreditBlock block = RechargeBlocks(h).Should().ContainSingle().Subject;
        block.Amount.ToDecimal().Should().Be(50);
        block.Category.Should().Be(CreditCategory.Paid);
        block.CostBasis.Should().Be(0.01m);
        block.Metadata[RechargeMetadata.RechargeId].Should().Be(request.RechargeId);
        block.Metadata[RechargeMetadata.PaymentReference].Should().Be("pay-" + request.RechargeId);
        (await h.EntriesAsync()).Should().ContainSingle(e => e.Kind == LedgerEntryKind.Grant && e.IdempotencyKey == "recharge:" + request.RechargeId);
    }

    [Test]
    public async Task Spending_AboveThreshold_ChargesNothing()
    {
        var handler = new TestHandler();
        await using var h = await StartAsync(handler, new AutoRechargeOptions { CustomerId = Customer, Threshold = 20, Amount = 50 });
        await h.GrantAsync(Customer, 100);
        await h.GrantAsync("other", 10);

        await Consume(h, 80);
        await Consume(h, 9, "other");
        await QuietAsync(h);

        handler.Requests.Should().BeEmpty();
        h.Guard.WalletFor("other", "credits").Recharge.Should().BeNull("only configured wallets pay for the check");
        h.Guard.WalletFor(Customer, "usd").Recharge.Should().BeNull("a wallet is one credit type");
    }

    [Test]
    public async Task TopUp_BelowThreshold_ChargesTheGapToTheTarget()
    {
        var handler = new TestHandler();
        await using var h = await StartAsync(handler, new AutoRechargeOptions { CustomerId = Customer, Threshold = 30, TargetBalance = 200 });
        await h.GrantAsync(Customer, 100);

        await Consume(h, 80.5m);
        await QuietAsync(h);

        handler.Requests.Should().ContainSingle().Which.Amount.Should().Be(180.5m);
        h.Available(Customer).Should().Be(200);
    }

    [Test]
    public async Task TopUp_GapBelowTheMinimum_ChargesTheMinimum()
    {
        var handler = new TestHandler();
        await using var h = await StartAsync(handler, new AutoRechargeOptions { CustomerId = Customer, Threshold = 95, TargetBalance = 100, MinimumAmount = 25 });
        await h.GrantAsync(Customer, 100);

        await Consume(h, 10);
        await QuietAsync(h);

        handler.Requests.Should().ContainSingle().Which.Amount.Should().Be(25);
        h.Available(Customer).Should().Be(115);
    }

    [Test]
    public async Task TopUp_WalletInDebt_ChargesTheDebtToo()
    {
        var handler = new TestHandler();
        await using var h = await StartAsync(handler, new AutoRechargeOptions { CustomerId = Customer, Threshold = 10, TargetBalance = 50 });
        await h.GrantAsync(Customer, 20);

        await Consume(h, 20);
        await QuietAsync(h);
        handler.Requests.Should().ContainSingle().Which.Amount.Should().Be(50);

        ReservationResult reserved = await h.ReserveAsync(Customer, 40, policy: SettlementPolicy.Overdraft);
        h.Time.Advance(TimeSpan.FromMinutes(1));
        SettlementResult settled = await reserved.Reservation.SettleAsync(70m);
        settled.Overdrawn.ToDecimal().Should().Be(20);
        await QuietAsync(h);

        // The settlement spent the 10 left and overdrew 20: the top-up pays the debt and reaches the target.
        handler.Requests.Should().HaveCount(2);
        handler.Requests[1].Amount.Should().Be(70);
        h.Ledger.GetBalance(Customer).Owed.ToDecimal().Should().Be(0);
        h.Available(Customer).Should().Be(50);
    }

    [Test]
    public async Task FailedPayment_NothingGranted_RetriedAfterTheBackoffWithTheSameRechargeId()
    {
        var handler = new TestHandler();
        int calls = 0;
        handler.OnCharge = (r, _) => ValueTask.FromResult(Interlocked.Increment(ref calls) == 1 ? RechargeOutcome.Failed("card declined") : RechargeOutcome.Succeeded("pay-2"));
        await using var h = await StartAsync(handler, new AutoRechargeOptions { CustomerId = Customer, Threshold = 20, Amount = 50, RetryBackoff = TimeSpan.FromMinutes(1) });
        await h.GrantAsync(Customer, 100);

        await Consume(h, 90);
        await QuietAsync(h);
        handler.Requests.Should().ContainSingle();
        RechargeBlocks(h).Should().BeEmpty("a failed payment grants nothing");
        h.Guard.Recharge!.Find(h.Guard.WalletFor(Customer, "credits"))!.State.Should().Be(WalletRecharge.Parked);

        await Consume(h, 1);
        h.Time.Advance(TimeSpan.FromSeconds(59));
        await QuietAsync(h);
        handler.Requests.Should().ContainSingle("the back-off has not passed");

        h.Time.Advance(TimeSpan.FromSeconds(1));
        await QuietAsync(h);
        handler.Requests.Should().HaveCount(2);
        handler.Requests[1].RechargeId.Should().Be(handler.Requests[0].RechargeId);
        handler.Requests[1].Amount.Should().Be(50);
        handler.Requests[1].Attempt.Should().Be(2);
        RechargeBlocks(h).Should().ContainSingle().Which.Metadata[RechargeMetadata.PaymentReference].Should().Be("pay-2");
        h.Available(Customer).Should().Be(59);
    }

    [Test]
    public async Task FailedPayments_InARow_BackoffDoublesUpToTheMaximum()
    {
        var handler = new TestHandler { OnCharge = (_, _) => ValueTask.FromResult(RechargeOutcome.Failed("insufficient funds")) };
        await using var h = await StartAsync(handler, new AutoRechargeOptions { CustomerId = Customer, Threshold = 20, Amount = 50, RetryBackoff = TimeSpan.FromMinutes(1), MaxRetryBackoff = TimeSpan.FromMinutes(3) });
        await h.GrantAsync(Customer, 100);
        await Consume(h, 90);
        await QuietAsync(h);

        // Waits of 1, 2, 3 (capped from 4), 3 minutes between tries.
        int[] waits = [1, 2, 3, 3];
        for (int i = 0; i < waits.Length; i++)
        {
            h.Time.Advance(TimeSpan.FromMinutes(waits[i]) - TimeSpan.FromSeconds(1));
            await QuietAsync(h);
            handler.Requests.Should().HaveCount(i + 1);
            h.Time.Advance(TimeSpan.FromSeconds(1));
            await QuietAsync(h);
            handler.Requests.Should().HaveCount(i + 2);
        }

        handler.Requests.Select(r => r.RechargeId).Distinct().Should().ContainSingle();
        RechargeBlocks(h).Should().BeEmpty();
    }

    [Test]
    public async Task ThrowingHandler_CountsAsAFailure_AndNeverBreaksTheRequest()
    {
        var handler = new TestHandler { OnCharge = (_, _) => throw new InvalidOperationException("payment system down") };
        await using var h = await StartAsync(handler, new AutoRechargeOptions { CustomerId = Customer, Threshold = 50, Amount = 50 });
        await h.GrantAsync(Customer, 100);

        ReservationResult reserved = await h.ReserveAsync(Customer, 60);
        reserved.IsAdmitted.Should().BeTrue();
        SettlementResult settled = await reserved.Reservation.SettleAsync(55m);
        settled.Charged.ToDecimal().Should().Be(55);
        (await Consume(h, 5)).IsAdmitted.Should().BeTrue();
        await QuietAsync(h);

        handler.Requests.Should().ContainSingle();
        RechargeBlocks(h).Should().BeEmpty();
        h.Available(Customer).Should().Be(40);

        handler.OnCharge = (r, _) => ValueTask.FromResult(RechargeOutcome.Succeeded("pay-after-outage"));
        h.Time.Advance(TimeSpan.FromMinutes(1));
        await QuietAsync(h);
        handler.Requests.Should().HaveCount(2);
        h.Available(Customer).Should().Be(90);
    }

    [Test]
    public async Task Cooldown_AfterASuccess_NextRechargeWaitsForIt()
    {
        var handler = new TestHandler();
        await using var h = await StartAsync(handler, new AutoRechargeOptions { CustomerId = Customer, Threshold = 50, Amount = 60, Cooldown = TimeSpan.FromMinutes(10) });
        await h.GrantAsync(Customer, 100);

        await Consume(h, 60);
        await QuietAsync(h);
        h.Available(Customer).Should().Be(100);

        await Consume(h, 60);
        await QuietAsync(h);
        handler.Requests.Should().ContainSingle("the cooldown has not passed");

        h.Time.Advance(TimeSpan.FromMinutes(9));
        await QuietAsync(h);
        handler.Requests.Should().ContainSingle();

        h.Time.Advance(TimeSpan.FromMinutes(1));
        await QuietAsync(h);
        handler.Requests.Should().HaveCount(2);
        handler.Requests[1].RechargeId.Should().NotBe(handler.Requests[0].RechargeId).And.Be(RechargeWorker.RechargeIdFor(Customer, "credits", 2));
        h.Available(Customer).Should().Be(100);
    }

    [Test]
    public async Task MonthlyCap_Reached_ClampsTheLastRechargeThenStopsUntilTheNextMonth()
    {
        var handler = new TestHandler();
        await using var h = await StartAsync(handler, new AutoRechargeOptions { CustomerId = Customer, Threshold = 50, Amount = 60, MonthlyCap = 100, Cooldown = TimeSpan.Zero });
        await h.GrantAsync(Customer, 100);

        await Consume(h, 60);
        await QuietAsync(h);
        await Consume(h, 60);
        await QuietAsync(h);
        handler.Requests.Select(r => r.Amount).Should().Equal(60, 40);
        h.Available(Customer).Should().Be(80);

        await Consume(h, 40);
        await QuietAsync(h);
        handler.Requests.Should().HaveCount(2, "the month's cap is spent");
        h.Available(Customer).Should().Be(40);

        h.Time.SetUtcNow(new DateTimeOffset(2026, 8, 31, 23, 59, 59, TimeSpan.Zero));
        await QuietAsync(h);
        handler.Requests.Should().HaveCount(2);

        h.Time.SetUtcNow(new DateTimeOffset(2026, 9, 1, 0, 0, 0, TimeSpan.Zero));
        await QuietAsync(h);
        handler.Requests.Should().HaveCount(3);
        handler.Requests[2].Amount.Should().Be(60);
        h.Available(Customer).Should().Be(100);
    }

    [Test]
    public async Task SixteenThreads_CrossingTheThresholdTogether_OneRecharge()
    {
        for (int round = 0; round < 10; round++)
        {
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var handler = new TestHandler();
            handler.OnCharge = async (r, ct) =>
            {
                await release.Task.WaitAsync(ct);
                return RechargeOutcome.Succeeded("pay-" + r.RechargeId);
            };
            await using var h = await StartAsync(handler, new AutoRechargeOptions { CustomerId = Customer, Threshold = 60, Amount = 100 });
            await h.GrantAsync(Customer, 66);

            try
            {
                using var start = new Barrier(16);
                Task[] threads = Enumerable.Range(0, 16).Select(_ => Task.Factory.StartNew(
                    () =>
                    {
                        start.SignalAndWait();
                        h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = Customer, Amount = 1 }).AsTask().GetAwaiter().GetResult().IsAdmitted.Should().BeTrue();
                    },
                    CancellationToken.None,
                    TaskCreationOptions.LongRunning,
                    TaskScheduler.Default)).ToArray();
                await Task.WhenAll(threads);
                await handler.FirstCall.WaitAsync(TimeSpan.FromSeconds(30));
                handler.Requests.Should().ContainSingle($"round {round}: the payment is still in flight");
            }
            finally
            {
                release.TrySetResult();
            }

            await QuietAsync(h);

            handler.Requests.Should().ContainSingle($"round {round}: one recharge for one crossing");
            RechargeBlocks(h).Should().ContainSingle();
            h.Available(Customer).Should().Be(150);
        }
    }

    [Test]
    public async Task InFlightRecharge_MoreSpendingBelowThreshold_NoSecondRechargeForTheSameGap()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new TestHandler();
        handler.OnCharge = async (r, ct) =>
        {
            await release.Task.WaitAsync(ct);
            return RechargeOutcome.Succeeded("pay-slow");
        };
        await using var h = await StartAsync(handler, new AutoRechargeOptions { CustomerId = Customer, Threshold = 50, TargetBalance = 100 });
        await h.GrantAsync(Customer, 100);
        try
        {
            await Consume(h, 60);
            RechargeRequest first = await handler.FirstCall.WaitAsync(TimeSpan.FromSeconds(30));
            first.Amount.Should().Be(60);

            await Consume(h, 20);
            await Consume(h, 5);
            h.Time.Advance(TimeSpan.FromMinutes(5));
            h.Guard.Recharge!.Find(h.Guard.WalletFor(Customer, "credits"))!.State.Should().Be(WalletRecharge.Running);
            handler.Requests.Should().ContainSingle("the recharge in flight counts toward the gap");
        }
        finally
        {
            release.TrySetResult();
        }

        await QuietAsync(h);
        h.Available(Customer).Should().Be(75);
        h.Time.Advance(TimeSpan.FromMinutes(5));
        await QuietAsync(h);
        handler.Requests.Should().ContainSingle("75 is above the threshold once the recharge landed");
    }

    [Test]
    public async Task SameRechargeId_GrantedAgain_ReplaysAndLeavesOneGrant()
    {
        var handler = new TestHandler();
        await using var h = await StartAsync(handler, new AutoRechargeOptions { CustomerId = Customer, Threshold = 20, Amount = 50 });
        await h.GrantAsync(Customer, 100);
        await Consume(h, 85);
        await QuietAsync(h);
        RechargeRequest request = handler.Requests.Should().ContainSingle().Subject;

        // What a retried grant of the same paid recharge appends: the same key and terms.
        RechargePlan plan = h.Guard.Recharge!.Find(h.Guard.WalletFor(Customer, "credits"))!.Plan;
        CreditGrant again = RechargeWorker.GrantFor(plan, request.RechargeId, 50_000_000, "pay-" + request.RechargeId, h.Time.GetUtcNow());
        GrantResult replay = await h.Ledger.GrantAsync(again);

        replay.Replayed.Should().BeTrue();
        RechargeBlocks(h).Should().ContainSingle().Which.Id.Should().Be(replay.Block.Id);
        (await h.EntriesAsync()).Count(e => e.Kind == LedgerEntryKind.Grant && e.IdempotencyKey == "recharge:" + request.RechargeId).Should().Be(1);
        h.Available(Customer).Should().Be(65);
    }

    [Test]
    public async Task PaidRecharge_GrantRefusedByAFailingStore_GrantRetriedWithoutChargingAgain()
    {
        var store = new FlakyStore();
        var time = new ManualTimeProvider();
        var recharge = new RechargeOptions();
        recharge.Wallets.Add(new AutoRechargeOptions { CustomerId = Customer, Threshold = 20, Amount = 50, RetryBackoff = TimeSpan.FromMinutes(1) });
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new TestHandler();
        handler.OnCharge = async (r, ct) =>
        {
            await release.Task.WaitAsync(ct);
            return RechargeOutcome.Succeeded("pay-1");
        };
        await using EntitlementGuard guard = await EntitlementGuard.StartAsync(new UsageGuardOptions { ReservationSweepInterval = TimeSpan.Zero }, store, time, NullLogger.Instance, recharge: recharge, rechargeHandler: handler);
        await guard.GrantAsync(new CreditGrant { CustomerId = Customer, Amount = 100 });
        WalletRecharge state = guard.Recharge!.Find(guard.WalletFor(Customer, "credits"))!;
        try
        {
            await guard.ConsumeAsync(new ReservationRequest { CustomerId = Customer, Amount = 85 });
            await handler.FirstCall.WaitAsync(TimeSpan.FromSeconds(30));

            // While the payment is in flight the store starts failing, and the guard (fail closed) refuses new grants.
            store.Failing = true;
            await guard.ConsumeAsync(new ReservationRequest { CustomerId = Customer, Amount = 1, Durability = Durability.WriteBehind });
            SpinWait.SpinUntil(() => !guard.Health.IsHealthy, TimeSpan.FromSeconds(30)).Should().BeTrue();
        }
        finally
        {
            release.TrySetResult();
        }

        await guard.Recharge.WhenQuietAsync().WaitAsync(TimeSpan.FromSeconds(30));
        state.State.Should().Be(WalletRecharge.Parked);
        state.Pending!.PaymentReference.Should().Be("pay-1", "the payment is remembered until its grant lands");

        store.Failing = false;
        SpinWait.SpinUntil(() => guard.Health.IsHealthy, TimeSpan.FromSeconds(30)).Should().BeTrue();
        time.Advance(TimeSpan.FromMinutes(1));
        await guard.Recharge.WhenQuietAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await guard.FlushAsync();

        handler.Requests.Should().ContainSingle("the payment was taken once; only its grant is retried");
        CreditBlock block = guard.GetBalance(Customer).Blocks.Select(b => b.Block).Where(b => b.Metadata.ContainsKey(RechargeMetadata.RechargeId)).Should().ContainSingle().Subject;
        block.Metadata[RechargeMetadata.PaymentReference].Should().Be("pay-1");
        guard.GetBalance(Customer).Available.ToDecimal().Should().Be(64);
        state.Pending.Should().BeNull();
    }

    [Test]
    public async Task Restart_RecoversTheMonthsTotalAndTheNextRechargeId_FromTheLedger()
    {
        var handler = new TestHandler();
        await using var h = await StartAsync(handler, new AutoRechargeOptions { CustomerId = Customer, Threshold = 50, Amount = 60, MonthlyCap = 100, Cooldown = TimeSpan.FromMinutes(1) });
        await h.GrantAsync(Customer, 100);
        await Consume(h, 60);
        await QuietAsync(h);

        await h.RestartAsync();
        await Consume(h, 60);
        await QuietAsync(h);
        handler.Requests.Should().ContainSingle("the cooldown is counted from the recharge in the ledger");

        h.Time.Advance(TimeSpan.FromMinutes(1));
        await QuietAsync(h);
        handler.Requests.Should().HaveCount(2);
        handler.Requests[1].Amount.Should().Be(40, "60 of the month's 100 were recharged before the restart");
        handler.Requests[1].RechargeId.Should().Be(RechargeWorker.RechargeIdFor(Customer, "credits", 2));
        RechargeBlocks(h).Should().HaveCount(2);
    }

    [Test]
    public async Task Start_WalletAlreadyBelowThreshold_RechargesAtOnce()
    {
        var store = new InMemoryLedgerStore();
        var time = new ManualTimeProvider();
        await using (GuardHarness before = await GuardHarness.StartAsync(time: time, store: store))
        {
            await before.GrantAsync(Customer, 100);
            await Consume(before, 95);
        }

        var handler = new TestHandler();
        var options = new RechargeOptions();
        options.Wallets.Add(new AutoRechargeOptions { CustomerId = Customer, Threshold = 10, TargetBalance = 100 });
        await using GuardHarness h = await GuardHarness.StartAsync(time: time, store: store, recharge: options, rechargeHandler: handler);
        await QuietAsync(h);

        handler.Requests.Should().ContainSingle().Which.Amount.Should().Be(95);
        h.Available(Customer).Should().Be(100);
    }

    [Test]
    public async Task Start_InvalidOptions_FailsNamingEveryProblem()
    {
        var options = new RechargeOptions();
        options.Wallets.Add(new AutoRechargeOptions { CustomerId = "a", Threshold = 10, Amount = 5, TargetBalance = 50 });
        options.Wallets.Add(new AutoRechargeOptions { CustomerId = "b", CreditType = "eur", Amount = 5 });
        options.Wallets.Add(new AutoRechargeOptions { CustomerId = "c", Threshold = 10, TargetBalance = 10 });
        options.Wallets.Add(new AutoRechargeOptions { CustomerId = "d", CreditType = "usd", Amount = 1.005m });
        options.Wallets.Add(new AutoRechargeOptions { CustomerId = "e", Amount = 5, RetryBackoff = TimeSpan.FromHours(2) });
        options.Wallets.Add(new AutoRechargeOptions { CustomerId = "f", Amount = 5 });
        options.Wallets.Add(new AutoRechargeOptions { CustomerId = "f", CreditType = "credits", Amount = 6 });

        Func<Task> start = () => GuardHarness.StartAsync(recharge: options);

        var error = (await start.Should().ThrowAsync<OptionsValidationException>()).Which;
        error.Failures.Should().HaveCount(7);
        error.Message.Should().Contain("exactly one of Amount").And.Contain("'eur' is not configured").And.Contain("must be above Threshold")
            .And.Contain("Wallets[3]").And.Contain("MaxRetryBackoff").And.Contain("listed twice").And.Contain("no IRechargeHandler");
    }

    [Test]
    public async Task AddUsageGuard_UseAutoRechargeWithAHandler_RechargesFromTheContainer()
    {
        var time = new ManualTimeProvider();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddUsageGuard()
            .UseAutoRecharge(o => o.Wallets.Add(new AutoRechargeOptions { CustomerId = Customer, Threshold = 5, Amount = 10 }))
            .AddRechargeHandler<TestHandler>();
        await using ServiceProvider provider = services.BuildServiceProvider();
        var ledger = provider.GetRequiredService<ICreditLedger>();
        var guard = provider.GetRequiredService<IEntitlementGuard>();

        await ledger.GrantAsync(new CreditGrant { CustomerId = Customer, Amount = 10 });
        await guard.ConsumeAsync(new ReservationRequest { CustomerId = Customer, Amount = 6 });
        await ((EntitlementGuard)guard).Recharge!.WhenQuietAsync();

        ((TestHandler)provider.GetRequiredService<IRechargeHandler>()).Requests.Should().ContainSingle();
        ledger.GetBalance(Customer).Available.ToDecimal().Should().Be(14);
    }

    private static async Task<GuardHarness> StartAsync(TestHandler handler, params AutoRechargeOptions[] wallets)
    {
        var options = new RechargeOptions();
        foreach (AutoRechargeOptions wallet in wallets)
        {
            options.Wallets.Add(wallet);
        }

        return await GuardHarness.StartAsync(recharge: options, rechargeHandler: handler);
    }

    private static Task<ConsumeResult> Consume(GuardHarness h, decimal amount, string customer = Customer) =>
        h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = customer, Amount = amount }).AsTask();

    /// <summary>Waits until no recharge is queued or running, then for the ledger to commit.</summary>
    private static async Task QuietAsync(GuardHarness h)
    {
        await h.Guard.Recharge!.WhenQuietAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await h.Ledger.FlushAsync();
    }

    private static List<CreditBlock> RechargeBlocks(GuardHarness h) =>
        h.Ledger.GetBalance(Customer).Blocks.Select(b => b.Block).Where(b => b.Metadata.ContainsKey(RechargeMetadata.RechargeId)).ToList();

    /// <summary>An in-memory store whose appends fail while <see cref="Failing"/> is set.</summary>
    private sealed class FlakyStore() : DelegatingLedgerStore(new InMemoryLedgerStore())
    {
        public volatile bool Failing;

        public override ValueTask AppendAsync(LedgerBatch batch, CancellationToken cancellationToken = default) =>
            Failing ? ValueTask.FromException(new IOException("disk unavailable")) : Inner.AppendAsync(batch, cancellationToken);
    }

    private sealed class TestHandler : IRechargeHandler
    {
        private readonly ConcurrentQueue<RechargeRequest> _requests = new();
        private readonly TaskCompletionSource<RechargeRequest> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Func<RechargeRequest, CancellationToken, ValueTask<RechargeOutcome>> OnCharge { get; set; } =
            (r, _) => ValueTask.FromResult(RechargeOutcome.Succeeded("pay-" + r.RechargeId));

        public IReadOnlyList<RechargeRequest> Requests => [.. _requests];

        public Task<RechargeRequest> FirstCall => _first.Task;

        // Not async: a handler that throws before returning a task is exercised as such.
        public ValueTask<RechargeOutcome> ChargeAsync(RechargeRequest request, CancellationToken cancellationToken)
        {
            _requests.Enqueue(request);
            _first.TrySetResult(request);
            return OnCharge(request, cancellationToken);
        }
    }
}
