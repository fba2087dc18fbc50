using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests.Budgets;

[TestFixture]
public sealed class WalletAlertTests
{
    private const string Customer = "acme";

    [Test]
    public async Task Spending_CrossingAnAbsoluteAndAPercentThreshold_RaisesOneAlertEachWithItsAmounts()
    {
        var log = new AlertLog();
        await using GuardHarness h = await StartAsync(log, Watch(Customer, "500", "20%"));
        await h.GrantAsync(Customer, 1000);

        await Consume(h, 400);
        (await DeliveredAsync(h, log)).Should().BeEmpty("600 is above both thresholds");

        await Consume(h, 100);
        UsageAlert first = (await DeliveredAsync(h, log)).Should().ContainSingle("the balance fell to 500").Subject;
        first.Kind.Should().Be(UsageAlertKind.Wallet);
        first.CustomerId.Should().Be(Customer);
        first.CreditType.Should().Be("credits");
        first.BudgetId.Should().BeNull();
        first.Subject.Should().BeNull();
        first.SessionId.Should().BeNull();
        first.Window.Should().BeNull();
        first.WindowStart.Should().BeNull();
        first.Measure.Should().Be(LimitMeasure.Credits);
        first.Threshold.Should().Be("500");
        first.ThresholdAmount.Should().Be(500);
        first.Balance.Should().Be(500);
        first.Limit.Should().Be(1000);
        first.Used.Should().Be(500);
        first.RaisedAt.Should().Be(h.Time.GetUtcNow());

        await Consume(h, 299.5m);
        (await DeliveredAsync(h, log)).Should().ContainSingle("200.5 is still above 20% of 1000");

        await Consume(h, 0.5m);
        UsageAlert[] alerts = await DeliveredAsync(h, log);
        alerts.Should().HaveCount(2);
        UsageAlert second = alerts[1];
        second.Threshold.Should().Be("20%");
        second.ThresholdAmount.Should().Be(200);
        second.Balance.Should().Be(200, "a threshold is raised when the balance reaches it, not only below it");
        second.Limit.Should().Be(1000);
        second.Used.Should().Be(800);

        await Consume(h, 150);
        (await DeliveredAsync(h, log)).Should().HaveCount(2, "a raised threshold is not raised again while the balance stays below it");
    }

    [Test]
    public async Task Spending_AboveTheThresholds_RaisesNothing_AndUnwatchedWalletsCarryNoState()
    {
        var log = new AlertLog();
        await using GuardHarness h = await StartAsync(log, Watch(Customer, "100", "10%"));
        await h.GrantAsync(Customer, 1000);
        await h.GrantAsync(Customer, 1000, creditType: "usd");
        await h.GrantAsync("other", 50);

        await Consume(h, 899);
        await Consume(h, 999, creditType: "usd");
        await Consume(h, 50, "other");

        (await DeliveredAsync(h, log)).Should().BeEmpty("101 is above 100, and the other wallets are not watched");
        h.Guard.WalletFor(Customer, "credits").Alerts.Should().NotBeNull();
        h.Guard.WalletFor(Customer, "usd").Alerts.Should().BeNull("a wallet is one credit type");
        h.Guard.WalletFor("other", "credits").Alerts.Should().BeNull("only watched wallets pay for the check");
    }

    [Test]
    public async Task Grant_AfterAnAlert_RearmsOnlyAboveTheThreshold_AndTheNextCrossingRaisesAgain()
    {
        var log = new AlertLog();
        await using GuardHarness h = await StartAsync(log, Watch(Customer, "100"));
        await h.GrantAsync(Customer, 300, priority: 0);
        WalletAlerts alerts = h.Guard.WalletFor(Customer, "credits").Alerts!;

        await Consume(h, 200);
        (await DeliveredAsync(h, log)).Should().ContainSingle();
        await Consume(h, 50);

        await h.GrantAsync(Customer, 40, priority: 1);
        alerts.IsRaised(0).Should().BeTrue("90 is still at or below 100: no re-arm");
        await Consume(h, 10);
        (await DeliveredAsync(h, log)).Should().ContainSingle();

        await h.GrantAsync(Customer, 100, priority: 2);
        alerts.IsRaised(0).Should().BeFalse("180 is above 100: the grant re-armed it");
        await Consume(h, 79);
        (await DeliveredAsync(h, log)).Should().ContainSingle("101 is above the threshold");

        await Consume(h, 1);
        UsageAlert[] raised = await DeliveredAsync(h, log);
        raised.Should().HaveCount(2);
        raised.Select(a => a.Balance).Should().Equal(100m, 100m);

        // The blocks burn in the order granted (priorities 0, 1, 2): the first two are used up, only the third (100) is in force.
        raised[1].Limit.Should().Be(100);
        raised[1].Used.Should().Be(0);
    }

    [Test]
    public async Task Refund_AboveTheThreshold_Rearms_AndDebitsAndVoidsRaise()
    {
        var log = new AlertLog();
        await using GuardHarness h = await StartAsync(log, Watch(Customer, "50%"));
        await h.GrantAsync(Customer, 100);

        await Consume(h, 60);
        await h.Ledger.AdjustAsync(new CreditAdjustment { CustomerId = Customer, Amount = 30, Reason = "refund" });
        h.Guard.WalletFor(Customer, "credits").Alerts!.IsRaised(0).Should().BeFalse("the refund lifted the balance to 70, above 50");
        await h.Ledger.AdjustAsync(new CreditAdjustment { CustomerId = Customer, Amount = -20, Reason = "debit" });

        UsageAlert[] raised = await DeliveredAsync(h, log);
        raised.Select(a => (a.Threshold, a.ThresholdAmount, a.Balance)).Should().Equal(("50%", 50m, (decimal?)40m), ("50%", 50m, (decimal?)50m));

        GrantResult extra = await h.GrantAsync(Customer, 100);
        await h.Ledger.VoidAsync(Customer, extra.Block.Id, "granted by mistake");
        raised = await DeliveredAsync(h, log);
        raised.Should().HaveCount(3, "the grant re-armed it (150 of 200) and the void took the balance back to 50 of 100");
        raised[2].Balance.Should().Be(50);
        raised[2].Limit.Should().Be(100);
    }

    [Test]
    public async Task Holds_DoNotLowerTheBalance_AndReleasesDoNotRearm()
    {
        var log = new AlertLog();
        await using GuardHarness h = await StartAsync(log, Watch(Customer, "500"));
        await h.GrantAsync(Customer, 1000);

        ReservationResult big = await h.ReserveAsync(Customer, 900);
        big.IsAdmitted.Should().BeTrue();
        (await DeliveredAsync(h, log)).Should().BeEmpty("a hold is an estimate: the credits are not spent until settled");
        await big.Reservation.ReleaseAsync();

        ReservationResult spent = await h.ReserveAsync(Customer, 600);
        await spent.Reservation.SettleAsync(600m);
        (await DeliveredAsync(h, log)).Should().ContainSingle().Which.Balance.Should().Be(400);

        ReservationResult held = await h.ReserveAsync(Customer, 300);
        await held.Reservation.ReleaseAsync();
        ReservationResult partly = await h.ReserveAsync(Customer, 100);
        await partly.Reservation.SettleAsync(50m);

        (await DeliveredAsync(h, log)).Should().ContainSingle("giving a hold back is not a grant: the threshold stays raised");
        h.Balance(Customer).Should().Be(350);
    }

    [Test]
    public async Task PercentThreshold_IsOfTheCreditsInForce_UsedUpAndScheduledBlocksDoNotCount_AnActivationRearms()
    {
        var log = new AlertLog();
        await using GuardHarness h = await StartAsync(log, Watch(Customer, "20%"));
        await h.GrantAsync(Customer, 1000, priority: 0);
        await h.GrantAsync(Customer, 1000, priority: 1);
        await h.GrantAsync(Customer, 5000, effectiveAt: h.Time.GetUtcNow().AddDays(10));

        await Consume(h, 1000);
        await Consume(h, 700);
        (await DeliveredAsync(h, log)).Should().BeEmpty("the used-up block is no longer in force: 300 is above 20% of 1000 (it would be below 20% of 2000)");

        await Consume(h, 100);
        UsageAlert alert = (await DeliveredAsync(h, log)).Should().ContainSingle().Subject;
        alert.Limit.Should().Be(1000, "neither the used-up block nor the one not yet effective is in force");
        alert.ThresholdAmount.Should().Be(200);
        alert.Balance.Should().Be(200);

        h.Time.Advance(TimeSpan.FromDays(10));
        h.Ledger.GetBalance(Customer).Balance.ToDecimal().Should().Be(5200);
        h.Guard.WalletFor(Customer, "credits").Alerts!.IsRaised(0).Should().BeFalse("the block that became effective lifted the balance to 5200, above 20% of 6000");
    }

    [Test]
    public async Task PercentThreshold_RoundsDownToTheScale()
    {
        var log = new AlertLog();
        await using GuardHarness h = await StartAsync(log, Usd(Watch(Customer, "33.3333%")));
        await h.GrantAsync(Customer, 10.01m, creditType: "usd");

        // 33.3333% of 10.01 is 3.336663...: the threshold is 3.33, so 3.34 is above it and 3.33 is not.
        await Consume(h, 6.67m, creditType: "usd");
        (await DeliveredAsync(h, log)).Should().BeEmpty();
        await Consume(h, 0.01m, creditType: "usd");
        UsageAlert alert = (await DeliveredAsync(h, log)).Should().ContainSingle().Subject;
        alert.ThresholdAmount.Should().Be(3.33m);
        alert.Balance.Should().Be(3.33m);
        alert.CreditType.Should().Be("usd");
    }

    [Test]
    public async Task Expiry_TakingTheBalanceBelow_IsRaisedWhenTheWalletIsNextSwept()
    {
        var log = new AlertLog();
        await using GuardHarness h = await StartAsync(log, Watch(Customer, "300"));
        await h.GrantAsync(Customer, 500, expiresAt: h.Time.GetUtcNow().AddDays(1));
        await h.GrantAsync(Customer, 200);

        h.Time.Advance(TimeSpan.FromDays(1));
        (await DeliveredAsync(h, log)).Should().BeEmpty("expiry is noticed lazily");

        h.Ledger.GetBalance(Customer).Balance.ToDecimal().Should().Be(200);
        UsageAlert alert = (await DeliveredAsync(h, log)).Should().ContainSingle().Subject;
        alert.Balance.Should().Be(200);
        alert.Limit.Should().Be(200, "the expired block is no longer in force");
    }

    [Test]
    public async Task Overdraft_TheBalanceGoesNegative_AlertCarriesTheDebt_AndTheNextGrantRearms()
    {
        var log = new AlertLog();
        await using GuardHarness h = await StartAsync(log, Watch(Customer, "10"));
        await h.GrantAsync(Customer, 50);

        ReservationResult reserved = await h.ReserveAsync(Customer, 40, policy: SettlementPolicy.Overdraft);
        (await reserved.Reservation.SettleAsync(70m)).Overdrawn.ToDecimal().Should().Be(20);

        UsageAlert alert = (await DeliveredAsync(h, log)).Should().ContainSingle().Subject;
        alert.Balance.Should().Be(-20);
        alert.Limit.Should().Be(0, "the only block is used up");
        alert.Used.Should().Be(20, "the debt");

        await h.GrantAsync(Customer, 100);
        h.Balance(Customer).Should().Be(80);
        h.Guard.WalletFor(Customer, "credits").Alerts!.IsRaised(0).Should().BeFalse("the grant paid the debt and left 80");
    }

    /// <summary>
    /// Each round, a fresh block of 1,000 (expiring before the next round's) is spent down to one credit above a threshold;
    /// then 16 threads spend 1 credit each at once (a consumption, or a reservation of 2 settled at 1), so the first
    /// settlement reaches the threshold and every later one sees it reached: all race to raise it. Once for 50% (500),
    /// once for 100. Exactly one alert per threshold per round; the next round's grant re-arms both.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    public async Task SixteenThreads_CrossingAThresholdTogether_RaiseExactlyOneAlertPerCrossing(int seed)
    {
        var log = new AlertLog();
        await using GuardHarness h = await StartAsync(log, Watch(Customer, "50%", "100"));
        await h.GrantAsync(Customer, 1000, expiresAt: h.Time.GetUtcNow().AddHours(1));
        WalletAlerts state = h.Guard.WalletFor(Customer, "credits").Alerts!;

        for (int round = 0; round < 10; round++)
        {
            state.IsRaised(0).Should().BeFalse($"round {round}: 1000 of 1000 is above half");
            state.IsRaised(1).Should().BeFalse();
            int before = log.Count;

            await Consume(h, 499);
            await StormAsync(h, new Random((seed * 1_000) + (round * 2)));
            h.Balance(Customer).Should().Be(485);
            await Consume(h, 384);
            await StormAsync(h, new Random((seed * 1_000) + (round * 2) + 1));
            await Consume(h, 45);
            h.Balance(Customer).Should().Be(40);

            UsageAlert[] raised = (await DeliveredAsync(h, log)).Skip(before).ToArray();
            raised.Select(a => (a.Threshold, a.ThresholdAmount)).Should().Equal([("50%", 500m), ("100", 100m)], $"round {round}, seed {seed}: one alert per threshold crossed");
            raised[0].Balance.Should().BeInRange(485, 500);
            raised[1].Balance.Should().BeInRange(85, 100);
            raised.Should().OnlyContain(a => a.Limit == 1000);
            state.IsRaised(0).Should().BeTrue();
            state.IsRaised(1).Should().BeTrue();

            h.Time.Advance(TimeSpan.FromHours(1));
            await h.GrantAsync(Customer, 1000, expiresAt: h.Time.GetUtcNow().AddHours(1));
            h.Balance(Customer).Should().Be(1000, "the 40 left expired");
        }
    }

    private static IEnumerable<TestCaseData> BadOptions()
    {
        yield return Bad("Unparseable", w => w.Add(Watch(Customer, "twenty")), "AlertAt[0] 'twenty' is not a threshold");
        yield return Bad("Empty", w => w.Add(Watch(Customer, " ")), "AlertAt[0] is empty");
        yield return Bad("Zero", w => w.Add(Watch(Customer, "0")), "AlertAt[0] '0' must be above zero");
        yield return Bad("Negative", w => w.Add(Watch(Customer, "50", "-5")), "AlertAt[1] '-5' must be above zero");
        yield return Bad("ZeroPercent", w => w.Add(Watch(Customer, "0%")), "'0%' must be above zero");
        yield return Bad("PercentAbove100", w => w.Add(Watch(Customer, "120%")), "'120%' is above 100%");
        yield return Bad("PercentTooPrecise", w => w.Add(Watch(Customer, "12.34567%")), "'12.34567%' has more than 4 decimal places");
        yield return Bad("AmountBeyondTheScale", w => w.Add(Usd(Watch(Customer, "1.005"))), "'1.005' has more decimal places than usd has (2)");
        yield return Bad("UnknownCreditType", w => w.Add(new LowBalanceAlertOptions { CustomerId = Customer, CreditType = "eur", AlertAt = { "5" } }), "the credit type 'eur' is not configured");
        yield return Bad("DuplicatePercent", w => w.Add(Watch(Customer, "20%", "20.0%")), "AlertAt[1] '20.0%' repeats '20%'");
        yield return Bad("DuplicateAmount", w => w.Add(Watch(Customer, "500", "20%", "500.00")), "AlertAt[2] '500.00' repeats '500'");
        yield return Bad("WalletTwice", w => { w.Add(Watch(Customer, "5")); w.Add(new LowBalanceAlertOptions { CustomerId = Customer, CreditType = "credits", AlertAt = { "6" } }); }, "Wallets[1] (acme/credits): the wallet is listed twice");
        yield return Bad("DefaultTwice", w => { w.Add(Watch(null, "5")); w.Add(Watch(null, "6")); }, "Wallets[1] (every customer/credits): the default for every customer is listed twice");
        yield return Bad("EmptyCustomer", w => w.Add(Watch("  ", "5")), "CustomerId is empty");
        yield return Bad("NoThreshold", w => w.Add(Watch(Customer)), "AlertAt lists no threshold");
        yield return Bad("TooManyThresholds", w => w.Add(Watch(Customer, [.. Enumerable.Range(1, 33).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))])), "33 thresholds; at most 32");

        static TestCaseData Bad(string name, Action<IList<LowBalanceAlertOptions>> configure, string expected) =>
            new TestCaseData(configure, expected).SetName("Start_" + name + "_FailsNamingTheProblem_AndTouchesNothing");
    }

    [TestCaseSource(nameof(BadOptions))]
    public async Task Start_InvalidOptions_FailNamingTheProblem_BeforeTheLedgerIsRead(Action<IList<LowBalanceAlertOptions>> configure, string expected)
    {
        var inner = new InMemoryLedgerStore();
        await using (GuardHarness seeded = await GuardHarness.StartAsync(store: inner))
        {
            await seeded.GrantAsync(Customer, 100);
        }

        var store = new CountingStore(inner);
        var options = new WalletAlertOptions();
        configure(options.Wallets);

        Func<Task> start = () => EntitlementGuard.StartAsync(HarnessOptions(), store, new ManualTimeProvider(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, walletAlerts: options).AsTask();

        OptionsValidationException error = (await start.Should().ThrowAsync<OptionsValidationException>()).Which;
        error.Failures.Should().ContainSingle().Which.Should().Contain(expected).And.StartWith("WalletAlerts:Wallets[");
        error.OptionsType.Should().Be<WalletAlertOptions>();
        store.Calls.Should().Be(0, "the configuration is validated before the store is read or written");
    }

    [Test]
    public async Task Start_SeveralInvalidEntries_NamesEveryProblem_AndAValidStartThenServesTheLedgerUnchanged()
    {
        var store = new InMemoryLedgerStore();
        var time = new ManualTimeProvider();
        await using (GuardHarness seeded = await GuardHarness.StartAsync(time: time, store: store))
        {
            await seeded.GrantAsync(Customer, 100);
            await Consume(seeded, 70);
        }

        var bad = new WalletAlertOptions();
        bad.Wallets.Add(Watch(Customer, "abc", "150%"));
        bad.Wallets.Add(new LowBalanceAlertOptions { CustomerId = "b", CreditType = "eur", AlertAt = { "5" } });
        bad.Wallets.Add(null!);
        Func<Task> start = () => GuardHarness.StartAsync(time: time, store: store, walletAlerts: bad);
        OptionsValidationException error = (await start.Should().ThrowAsync<OptionsValidationException>()).Which;
        error.Failures.Should().HaveCount(4);
        error.Message.Should().Contain("'abc' is not a threshold").And.Contain("'150%' is above 100%").And.Contain("'eur' is not configured").And.Contain("Wallets[2] is null");

        var log = new AlertLog();
        await using GuardHarness h = await GuardHarness.StartAsync(time: time, store: store, walletAlerts: Options(Watch(Customer, "50")), alertHandlers: [log]);
        h.Balance(Customer).Should().Be(30);
        (await h.EntriesAsync()).Should().HaveCount(2, "the grant and the settlement, nothing more");
        await Consume(h, 1);
        (await DeliveredAsync(h, log)).Should().BeEmpty("the wallet was already below 50 when the guard started");
    }

    [Test]
    public async Task ThrowingHandler_IsLogged_AndLaterAlertsStillArrive()
    {
        var logger = new ListLogger();
        var throwing = new AlertLog { Throws = true };
        var log = new AlertLog();
        var viaEvent = new ConcurrentQueue<UsageAlert>();
        var options = Options(Watch(Customer, "500", "100"));
        await using EntitlementGuard guard = await EntitlementGuard.StartAsync(HarnessOptions(), new InMemoryLedgerStore(), new ManualTimeProvider(), logger, alertHandlers: [throwing, log], walletAlerts: options);
        ((IUsageGovernance)guard).AlertRaised += (_, alert) => viaEvent.Enqueue(alert);
        await guard.GrantAsync(new CreditGrant { CustomerId = Customer, Amount = 1000 });

        (await guard.ConsumeAsync(new ReservationRequest { CustomerId = Customer, Amount = 500 })).IsAdmitted.Should().BeTrue();
        await guard.WhenAlertsDeliveredAsync().WaitAsync(TimeSpan.FromSeconds(30));
        (await guard.ConsumeAsync(new ReservationRequest { CustomerId = Customer, Amount = 400 })).IsAdmitted.Should().BeTrue();
        await guard.WhenAlertsDeliveredAsync().WaitAsync(TimeSpan.FromSeconds(30));

        throwing.Count.Should().Be(2, "the throwing handler is called for every alert");
        log.Alerts.Select(a => a.Threshold).Should().Equal("500", "100");
        viaEvent.Select(a => a.Threshold).Should().Equal("500", "100");
        List<ListLogger.Line> errors = logger.Lines.Where(l => l.Level == LogLevel.Error).ToList();
        errors.Should().HaveCount(2);
        errors.Should().OnlyContain(l => l.EventId == 302 && l.Exception is InvalidOperationException && l.Message.Contains("customer acme (credits)", StringComparison.Ordinal));
        errors[0].Message.Should().Contain("AlertLog").And.Contain("threshold 500");
        errors[1].Message.Should().Contain("threshold 100");
    }

    [Test]
    public async Task Restart_WalletLeftBelowAThreshold_RaisesNothingAgain_UntilItRisesAndFallsAgain()
    {
        var log = new AlertLog();
        GuardHarness h = await StartAsync(log, Watch(Customer, "100"));
        try
        {
            await h.GrantAsync(Customer, 300);
            await Consume(h, 250);
            (await DeliveredAsync(h, log)).Should().ContainSingle();

            await h.RestartAsync();
            h.Guard.WalletFor(Customer, "credits").Alerts!.IsRaised(0).Should().BeTrue("the state is derived from the balance the ledger restores");
            await Consume(h, 10);
            (await DeliveredAsync(h, log)).Should().ContainSingle("the previous process raised it already");

            await h.GrantAsync(Customer, 200);
            await Consume(h, 150);
            UsageAlert[] raised = await DeliveredAsync(h, log);
            raised.Should().HaveCount(2, "the grant re-armed it and the spending crossed it again");
            raised[1].Balance.Should().Be(90);
        }
        finally
        {
            await h.DisposeAsync();
        }
    }

    [Test]
    public async Task Restart_BlockExpiredWhileStopped_RaisedAtTheFirstSweep()
    {
        var log = new AlertLog();
        GuardHarness h = await StartAsync(log, Watch(Customer, "300"));
        try
        {
            await h.GrantAsync(Customer, 500, expiresAt: h.Time.GetUtcNow().AddHours(1));
            await h.GrantAsync(Customer, 200);
            await h.Guard.DisposeAsync();
            h.Time.Advance(TimeSpan.FromHours(2));

            await h.RestartAsync();
            (await DeliveredAsync(h, log)).Should().BeEmpty("the ledger left the wallet at 700, above the threshold");
            h.Guard.WalletFor(Customer, "credits").Alerts!.IsRaised(0).Should().BeFalse();

            h.Ledger.GetBalance(Customer).Balance.ToDecimal().Should().Be(200);
            (await DeliveredAsync(h, log)).Should().ContainSingle("the expiry, applied after the restart, crossed it").Which.Balance.Should().Be(200);
        }
        finally
        {
            await h.DisposeAsync();
        }
    }

    [Test]
    public async Task DefaultForEveryCustomer_NewWalletsAreWatched_FirstGrantBelowRaisesNothing_AndAnOwnEntryReplacesTheDefault()
    {
        var log = new AlertLog();
        await using GuardHarness h = await StartAsync(log, Watch(null, "500"), Watch("vip", "50"));

        await h.GrantAsync("newco", 100);
        h.Guard.WalletFor("newco", "credits").Alerts!.IsRaised(0).Should().BeTrue("a new wallet's balance never fell: it starts at or below the threshold");
        await Consume(h, 10, "newco");
        await h.GrantAsync("vip", 1000);
        await Consume(h, 600, "vip");
        (await DeliveredAsync(h, log)).Should().BeEmpty("vip's own threshold is 50, not the default 500");

        await h.GrantAsync("newco", 1000);
        await Consume(h, 600, "newco");
        await Consume(h, 360, "vip");
        UsageAlert[] raised = await DeliveredAsync(h, log);
        raised.Select(a => (a.CustomerId, a.Threshold, a.Balance)).Should().BeEquivalentTo(new[] { ("newco", "500", (decimal?)490m), ("vip", "50", (decimal?)40m) });
        h.Guard.WalletFor("newco", "usd").Alerts.Should().BeNull("the default is for the default credit type only");
    }

    [Test]
    public async Task OneAlertStream_CarriesBudgetAndWalletAlerts_CountedWithTheirKind()
    {
        var counted = new ConcurrentQueue<string?>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == UsageGuardDiagnostics.MeterName && instrument.Name == "usageguard.alerts")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "usageguard.alert.kind")
                {
                    counted.Enqueue(tag.Value as string);
                }
            }
        });
        listener.Start();

        var governance = new GovernanceOptions();
        var acme = new CustomerGovernanceOptions { CustomerId = Customer };
        BudgetOptions budget = GovernanceTests.Budget("monthly", null, 100, "month");
        budget.Limits[0].AlertAt.Add("50%");
        acme.Budgets.Add(budget);
        governance.Customers.Add(acme);
        var log = new AlertLog();
        await using GuardHarness h = await GuardHarness.StartAsync(governance: governance, walletAlerts: Options(Watch(Customer, "950")), alertHandlers: [log]);
        await h.GrantAsync(Customer, 1000);

        await Consume(h, 60);
        UsageAlert[] raised = await DeliveredAsync(h, log);

        raised.Should().HaveCount(2);
        UsageAlert budgetAlert = raised.Single(a => a.Kind == UsageAlertKind.Budget);
        budgetAlert.BudgetId.Should().Be("monthly");
        budgetAlert.CreditType.Should().BeNull();
        budgetAlert.Balance.Should().BeNull();
        UsageAlert walletAlert = raised.Single(a => a.Kind == UsageAlertKind.Wallet);
        walletAlert.BudgetId.Should().BeNull();
        walletAlert.Balance.Should().Be(940);
        counted.Should().BeEquivalentTo(new[] { "budget", "wallet" });
    }

    [Test]
    public async Task AddUsageGuard_UseWalletAlertsBoundFromConfiguration_DeliversToTheRegisteredHandler()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["UsageGuard:WalletAlerts:Wallets:0:CustomerId"] = Customer,
            ["UsageGuard:WalletAlerts:Wallets:0:AlertAt:0"] = "25%",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new ManualTimeProvider());
        services.AddUsageGuard()
            .UseWalletAlerts(o => configuration.GetSection("UsageGuard:WalletAlerts").Bind(o, binder => binder.ErrorOnUnknownConfiguration = true))
            .AddAlertHandler<AlertLog>();
        await using ServiceProvider provider = services.BuildServiceProvider();
        var ledger = provider.GetRequiredService<ICreditLedger>();
        var guard = provider.GetRequiredService<IEntitlementGuard>();

        await ledger.GrantAsync(new CreditGrant { CustomerId = Customer, Amount = 40 });
        (await guard.ConsumeAsync(new ReservationRequest { CustomerId = Customer, Amount = 30 })).IsAdmitted.Should().BeTrue();
        await ((EntitlementGuard)guard).WhenAlertsDeliveredAsync().WaitAsync(TimeSpan.FromSeconds(30));

        UsageAlert alert = ((AlertLog)provider.GetRequiredService<IUsageAlertHandler>()).Alerts.Should().ContainSingle().Subject;
        alert.Threshold.Should().Be("25%");
        alert.ThresholdAmount.Should().Be(10);
        alert.Balance.Should().Be(10);
    }

    private static UsageGuardOptions HarnessOptions()
    {
        var options = new UsageGuardOptions { SettlementDurability = Durability.Durable, ReservationSweepInterval = TimeSpan.Zero };
        options.CreditTypes.Add(new CreditTypeOptions { Code = "credits", Scale = 6, OverdraftLimit = 100m });
        options.CreditTypes.Add(new CreditTypeOptions { Code = "usd", Scale = 2 });
        return options;
    }

    private static LowBalanceAlertOptions Watch(string? customer, params string[] thresholds)
    {
        var wallet = new LowBalanceAlertOptions { CustomerId = customer };
        foreach (string threshold in thresholds)
        {
            wallet.AlertAt.Add(threshold);
        }

        return wallet;
    }

    /// <summary>16 threads released together spend 1 credit each: half as a consumption, half as a reservation of 2 settled at 1.</summary>
    private static async Task StormAsync(GuardHarness h, Random random)
    {
        const int Threads = 16;
        int[] spins = [.. Enumerable.Range(0, Threads).Select(_ => random.Next(0, 64))];
        var refused = new ConcurrentQueue<ReservationStatus>();
        using var start = new Barrier(Threads);
        Task[] threads = Enumerable.Range(0, Threads).Select(t => Task.Factory.StartNew(
            () =>
            {
                start.SignalAndWait();
                Thread.SpinWait(spins[t]);
                if (t % 2 == 0)
                {
                    ConsumeResult consumed = h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = Customer, Amount = 1 }).AsTask().GetAwaiter().GetResult();
                    if (!consumed.IsAdmitted)
                    {
                        refused.Enqueue(consumed.Status);
                    }

                    return;
                }

                ReservationResult reserved = h.Gate.ReserveAsync(new ReservationRequest { CustomerId = Customer, Amount = 2 }).AsTask().GetAwaiter().GetResult();
                if (!reserved.IsAdmitted)
                {
                    refused.Enqueue(reserved.Status);
                    return;
                }

                reserved.Reservation.SettleAsync(1m).AsTask().GetAwaiter().GetResult();
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();
        await Task.WhenAll(threads);
        refused.Should().BeEmpty();
    }

    private static LowBalanceAlertOptions Usd(LowBalanceAlertOptions wallet)
    {
        wallet.CreditType = "usd";
        return wallet;
    }

    private static WalletAlertOptions Options(params LowBalanceAlertOptions[] wallets)
    {
        var options = new WalletAlertOptions();
        foreach (LowBalanceAlertOptions wallet in wallets)
        {
            options.Wallets.Add(wallet);
        }

        return options;
    }

    private static Task<GuardHarness> StartAsync(AlertLog log, params LowBalanceAlertOptions[] wallets) =>
        GuardHarness.StartAsync(walletAlerts: Options(wallets), alertHandlers: [log]);

    private static async Task Consume(GuardHarness h, decimal amount, string customer = Customer, string? creditType = null)
    {
        ConsumeResult result = await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = customer, Amount = amount, CreditType = creditType });
        result.IsAdmitted.Should().BeTrue();
    }

    /// <summary>Waits until every alert raised so far is delivered, then returns what the handler received.</summary>
    private static async Task<UsageAlert[]> DeliveredAsync(GuardHarness h, AlertLog log)
    {
        await h.Guard.WhenAlertsDeliveredAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return log.Alerts;
    }

    /// <summary>Records the alerts it receives; throws after recording when <see cref="Throws"/> is set.</summary>
    private sealed class AlertLog : IUsageAlertHandler
    {
        private readonly ConcurrentQueue<UsageAlert> _alerts = new();

        public bool Throws { get; init; }

        public UsageAlert[] Alerts => [.. _alerts];

        public int Count => _alerts.Count;

        public ValueTask OnAlertAsync(UsageAlert alert, CancellationToken cancellationToken)
        {
            _alerts.Enqueue(alert);
            return Throws ? throw new InvalidOperationException("the pager is down") : ValueTask.CompletedTask;
        }
    }

    /// <summary>Counts every call that reads or writes the store.</summary>
    private sealed class CountingStore(ILedgerStore inner) : DelegatingLedgerStore(inner)
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public override ValueTask AppendAsync(LedgerBatch batch, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            return base.AppendAsync(batch, cancellationToken);
        }

        public override IAsyncEnumerable<LedgerEntry> ReadAsync(long afterSequence, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            return base.ReadAsync(afterSequence, cancellationToken);
        }

        public override ValueTask<LedgerSnapshot?> LoadLatestSnapshotAsync(CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            return base.LoadLatestSnapshotAsync(cancellationToken);
        }

        public override ValueTask SaveSnapshotAsync(LedgerSnapshot snapshot, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            return base.SaveSnapshotAsync(snapshot, cancellationToken);
        }

        public override IAsyncEnumerable<IdempotencyRecord> ReadIdempotencyRecordsAsync(DateTimeOffset createdSince, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            return base.ReadIdempotencyRecordsAsync(createdSince, cancellationToken);
        }
    }

    private sealed class ListLogger : ILogger
    {
        private readonly ConcurrentQueue<Line> _lines = new();

        public IReadOnlyList<Line> Lines => [.. _lines];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue(new Line(logLevel, eventId.Id, formatter(state, exception), exception));

        public sealed record Line(LogLevel Level, int EventId, string Message, Exception? Exception);
    }
}
