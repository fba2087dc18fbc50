using FluentAssertions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests;

/// <summary>Budgets read back from the ledger: what a restart restores and what a past window counted.</summary>
public sealed class GovernanceHistoryTests
{
    // Monday 2 March 2026, 10:00 UTC: mid-day, mid-month.
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private static GovernanceOptions Options(params BudgetOptions[] budgets)
    {
        CustomerGovernanceOptions acme = GovernanceTests.Acme();
        foreach (BudgetOptions budget in budgets)
        {
            acme.Budgets.Add(budget);
        }

        var governance = new GovernanceOptions();
        governance.Customers.Add(acme);
        return governance;
    }

    private static async Task<GuardHarness> Start(GovernanceOptions governance, DateTimeOffset? now = null, CatalogOptions? catalog = null)
    {
        GuardHarness h = await GuardHarness.StartAsync(time: new ManualTimeProvider(now ?? T0), governance: governance, catalog: catalog);
        await h.GrantAsync("acme", 1_000m);
        return h;
    }

    private static async Task<ReservationResult> Spend(GuardHarness h, string subject, decimal amount, string? session = null, IReadOnlyList<string>? tags = null, decimal? settle = null)
    {
        ReservationResult r = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Subject = subject, Amount = amount, SessionId = session, Tags = tags });
        if (r.IsAdmitted)
        {
            await r.Reservation.SettleAsync(settle ?? amount);
        }

        return r;
    }

    private static BudgetUsage Row(IEnumerable<BudgetUsage> rows, string budgetId, LimitMeasure measure = LimitMeasure.Credits, UsageWindow? window = null) =>
        rows.Single(u => u.BudgetId == budgetId && u.Measure == measure && (window is null || u.Window == window));

    private static BudgetUsage Now(GuardHarness h, string budgetId, LimitMeasure measure = LimitMeasure.Credits, string? session = null, UsageWindow? window = null) =>
        Row(h.Governance.GetBudgetUsage("acme", sessionId: session), budgetId, measure, window);

    private static BudgetOptions Limits(string id, string? subject, params BudgetLimitOptions[] limits)
    {
        var budget = new BudgetOptions { Id = id, Subject = subject };
        foreach (BudgetLimitOptions limit in limits)
        {
            budget.Limits.Add(limit);
        }

        return budget;
    }

    [Test]
    public async Task Restart_KeepsWhatEveryLimitCountedInItsCurrentWindow_AndGoesOnEnforcing()
    {
        GovernanceOptions governance = Options(
            Limits("team", "search",
                new BudgetLimitOptions { Amount = 10, Window = "month" },
                new BudgetLimitOptions { Amount = 4, Window = "day" },
                new BudgetLimitOptions { Measure = LimitMeasure.Requests, Amount = 5, Window = "hour" }),
            GovernanceTests.Budget("org", "org", 100));
        await using GuardHarness h = await Start(governance);

        // Yesterday: 3 credits in 1 request (counts in the month, not the day or hour).
        h.Time.SetUtcNow(T0.AddDays(-1));
        (await Spend(h, "search", 3)).IsAdmitted.Should().BeTrue();
        h.Time.SetUtcNow(T0);
        (await Spend(h, "search", 1.5m, settle: 1)).IsAdmitted.Should().BeTrue();
        (await Spend(h, "agent:a", 2)).IsAdmitted.Should().BeTrue();
        (await Spend(h, "sales", 7)).IsAdmitted.Should().BeTrue();
        BudgetUsage[] before = [.. h.Governance.GetBudgetUsage("acme")];

        await h.RestartAsync();

        h.Governance.GetBudgetUsage("acme").Should().Equal(before);
        Now(h, "team", window: UsageWindow.Month).Used.Should().Be(6m, "3 yesterday, 1 settled of 1.5 held, 2 by an agent under the team");
        Now(h, "team", window: UsageWindow.Day).Used.Should().Be(3m);
        Now(h, "team", LimitMeasure.Requests).Used.Should().Be(2);
        Row(h.Governance.GetBudgetUsage("acme"), "org").Used.Should().Be(13m);
        ReservationResult denied = await Spend(h, "search", 1.5m);
        denied.Status.Should().Be(ReservationStatus.BudgetExceeded, "today the team used 3 of its 4: 1 is left after the restart, as before it");
        denied.Budget!.Value.Window.Should().Be(UsageWindow.Day);
        (await Spend(h, "search", 1)).IsAdmitted.Should().BeTrue();
    }

    [Test]
    public async Task Restart_AfterTheWindowEnded_StartsTheNewWindowEmpty_AndCountsARequestInTheWindowThatAdmittedIt()
    {
        GovernanceOptions governance = Options(GovernanceTests.Budget("daily", "search", 5, "day"));
        await using GuardHarness h = await Start(governance);

        h.Time.SetUtcNow(new DateTimeOffset(2026, 3, 2, 23, 59, 0, TimeSpan.Zero));
        (await Spend(h, "search", 2)).IsAdmitted.Should().BeTrue();
        ReservationResult late = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Subject = "search", Amount = 1 });
        h.Time.SetUtcNow(new DateTimeOffset(2026, 3, 3, 0, 0, 30, TimeSpan.Zero));
        await late.Reservation.SettleAsync(1m);
        Now(h, "daily").Used.Should().Be(0m, "the settlement counts in the day that admitted it");

        await h.RestartAsync();

        Now(h, "daily").Used.Should().Be(0m);
        IReadOnlyList<BudgetUsage> yesterday = await h.Governance.GetBudgetUsageAsync("acme", new DateTimeOffset(2026, 3, 2, 12, 0, 0, TimeSpan.Zero));
        Row(yesterday, "daily").Used.Should().Be(3m);
        Row(yesterday, "daily").WindowStart.Should().Be(new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero));
    }

    [Test]
    public async Task Restart_KeepsSessionCounters_SoARunawayLoopCannotResetItsCapByCrashingTheHost()
    {
        var breaker = new BudgetOptions { Id = "loop", Subject = "agent:a", PerSession = true };
        breaker.Limits.Add(new BudgetLimitOptions { Amount = 5 });
        breaker.Limits.Add(new BudgetLimitOptions { Measure = LimitMeasure.Requests, Amount = 4 });
        await using GuardHarness h = await Start(Options(breaker));

        for (int i = 0; i < 3; i++)
        {
            (await Spend(h, "agent:a", 1, session: "run-1")).IsAdmitted.Should().BeTrue();
        }

        (await Spend(h, "agent:a", 1, session: "run-2")).IsAdmitted.Should().BeTrue();
        await h.RestartAsync();

        Now(h, "loop", session: "run-1").Used.Should().Be(3m);
        Now(h, "loop", LimitMeasure.Requests, session: "run-1").Used.Should().Be(3);
        Now(h, "loop", session: "run-2").Used.Should().Be(1m);
        (await Spend(h, "agent:a", 1, session: "run-1")).IsAdmitted.Should().BeTrue("the fourth step");
        (await Spend(h, "agent:a", 1, session: "run-1")).Status.Should().Be(ReservationStatus.SessionTripped, "a fifth step is over the cap of 4");
        (await Spend(h, "agent:a", 1, session: "run-2")).IsAdmitted.Should().BeTrue();
    }

    [Test]
    public async Task Restart_SessionIdleLongerThanTheTimeout_StartsAfresh()
    {
        var breaker = new BudgetOptions { Id = "loop", Subject = "agent:a", PerSession = true };
        breaker.Limits.Add(new BudgetLimitOptions { Amount = 2 });
        GovernanceOptions governance = Options(breaker);
        governance.SessionIdleTimeout = TimeSpan.FromHours(1);
        await using GuardHarness h = await Start(governance);
        (await Spend(h, "agent:a", 2, session: "run-1")).IsAdmitted.Should().BeTrue();

        h.Time.Advance(TimeSpan.FromHours(2));
        await h.RestartAsync();

        h.Governance.GetBudgetUsage("acme", sessionId: "run-1").Should().ContainSingle(u => u.BudgetId == "loop").Which.Used.Should().Be(0m);
        (await Spend(h, "agent:a", 2, session: "run-1")).IsAdmitted.Should().BeTrue();
    }

    [Test]
    public async Task Restart_TokensAndTags_AreRestoredExactly()
    {
        var catalog = new CatalogOptions();
        catalog.Models.Add(new ModelRate { Model = "m", CreditType = "credits", InputPerMillion = 1m, OutputPerMillion = 2m });
        catalog.UnknownFeatures = UnknownPolicy.Allow;
        var tagged = new BudgetOptions { Id = "beta", Tag = "beta" };
        tagged.Limits.Add(new BudgetLimitOptions { Measure = LimitMeasure.Requests, Amount = 3, Window = "day" });
        GovernanceOptions governance = Options(GovernanceTests.Budget("tpd", null, 10_000, "day", LimitMeasure.Tokens), tagged);
        await using GuardHarness h = await Start(governance, catalog: catalog);

        ReservationResult settledWithTokens = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Model = "m", Tokens = new TokenUsage(600, 0, 300, 0) });
        await h.Gate.SettleAsync(settledWithTokens.Reservation, new TokenUsage(200, 0, 100, 0));
        var tags = new List<string> { "beta" };
        ReservationResult settledWithAmount = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Model = "m", Tokens = new TokenUsage(1_000, 0, 0, 0), Tags = tags });
        tags[0] = "changed-after-admission";
        await settledWithAmount.Reservation.SettleAsync(0.001m);
        Now(h, "tpd", LimitMeasure.Tokens).Used.Should().Be(1_300, "300 settled, and the estimate of 1,000 for the settlement without tokens");
        Now(h, "beta", LimitMeasure.Requests).Used.Should().Be(1);

        await h.RestartAsync();

        Now(h, "tpd", LimitMeasure.Tokens).Used.Should().Be(1_300);
        Now(h, "beta", LimitMeasure.Requests).Used.Should().Be(1, "the tag recorded is the one the request was admitted with");
        (await h.Ledger.VerifyAsync()).IsValid.Should().BeTrue();
    }

    [Test]
    public async Task Budgeted_RecordedOnTheLastEntryOfEachGovernedSettlement_NoneForReleasesDenialsOrUngovernedRequests()
    {
        await using GuardHarness h = await Start(Options(GovernanceTests.Budget("team", "search", 5), GovernanceTests.Budget("rpd", null, 100, "day", LimitMeasure.Requests)));
        (await Spend(h, "search", 2, session: "s")).IsAdmitted.Should().BeTrue();
        int before = (await h.EntriesAsync()).Count;
        (await Spend(h, "sales", 0.5m, settle: 0)).IsAdmitted.Should().BeTrue("a request limit counts it, though it spends nothing");
        ReservationResult released = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Subject = "search", Amount = 1 });
        await released.Reservation.ReleaseAsync();
        (await Spend(h, "search", 9)).Status.Should().Be(ReservationStatus.BudgetExceeded);

        IReadOnlyList<LedgerEntry> entries = await h.EntriesAsync();
        entries.Where(e => e.Budgeted is not null).Should().HaveCount(2);
        LedgerEntry spent = entries.Single(e => e.Kind == LedgerEntryKind.Settle);
        spent.Budgeted!.Value.Credits.ToDecimal().Should().Be(2m, "recorded on the settlement's own entry: no entry more than without budgets");
        spent.Budgeted.Value.AdmittedAt.Should().Be(T0);
        spent.Subject.Should().Be("search");
        spent.SessionId.Should().Be("s");
        LedgerEntry nothingSpent = entries.Should().ContainSingle(e => e.Kind == LedgerEntryKind.Budgeted).Subject;
        nothingSpent.Sequence.Should().Be(before + 1, "a settlement that wrote nothing else writes one entry of its own");
        nothingSpent.Amount.Units.Should().Be(0);
        nothingSpent.BalanceAfter.Should().Be(nothingSpent.BalanceBefore);
        nothingSpent.Budgeted!.Value.Credits.Units.Should().Be(0);
        (await h.Ledger.VerifyAsync()).IsValid.Should().BeTrue();
    }

    [Test]
    public async Task Budgeted_ASoftLimitsOverage_IsCounted_AndAWaivedOverrunIsNot()
    {
        await using GuardHarness h = await Start(Options(GovernanceTests.Budget("soft", "search", 3, enforcement: LimitEnforcement.Soft)));
        ReservationResult r = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Subject = "search", Amount = 1, OverrunPolicy = SettlementPolicy.Cap });
        await r.Reservation.SettleAsync(2_000m);
        decimal live = Now(h, "soft").Used;

        await h.RestartAsync();

        Now(h, "soft").Used.Should().Be(live).And.Be(1_000m, "the wallet held 1,000: the rest of the overrun was waived, not spent");
    }

    [Test]
    public async Task Restart_AlertsRaisedBeforeAreNotRaisedAgain_ButTheNextThresholdIs()
    {
        var budget = GovernanceTests.Budget("team", "search", 10);
        budget.Limits[0].AlertAt.Add("50%");
        budget.Limits[0].AlertAt.Add("90%");
        await using GuardHarness h = await Start(Options(budget));
        var alerts = new List<UsageAlert>();
        h.Governance.AlertRaised += (_, a) => { lock (alerts) { alerts.Add(a); } };
        await Spend(h, "search", 6);
        await WaitFor(() => alerts.Count == 1);

        await h.RestartAsync();
        alerts.Clear();
        h.Governance.AlertRaised += (_, a) => { lock (alerts) { alerts.Add(a); } };
        await Spend(h, "search", 1);
        await Spend(h, "search", 2);
        await WaitFor(() => alerts.Count >= 1);
        await Task.Delay(50);

        alerts.Should().ContainSingle().Which.Threshold.Should().Be("90%");
    }

    [Test]
    public async Task PastWindow_ReportsEachLimitsWindowAtTheInstant_FromTheLedger()
    {
        GovernanceOptions governance = Options(
            Limits("team", "search",
                new BudgetLimitOptions { Amount = 100, Window = "day" },
                new BudgetLimitOptions { Amount = 1_000, Window = "month" }),
            Limits("rpd", null, new BudgetLimitOptions { Measure = LimitMeasure.Requests, Amount = 50, Window = "day" }),
            Limits("inflight", null, new BudgetLimitOptions { Measure = LimitMeasure.InFlight, Amount = 5 }));
        await using GuardHarness h = await Start(governance, now: new DateTimeOffset(2026, 2, 27, 9, 0, 0, TimeSpan.Zero));
        await Spend(h, "agent:a", 4);                             // 27 Feb
        h.Time.SetUtcNow(new DateTimeOffset(2026, 2, 28, 9, 0, 0, TimeSpan.Zero));
        await Spend(h, "search", 7);                              // 28 Feb
        await Spend(h, "sales", 50);                              // not under the team
        h.Time.SetUtcNow(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        await Spend(h, "search", 11);                             // 1 March

        IReadOnlyList<BudgetUsage> feb28 = await h.Governance.GetBudgetUsageAsync("acme", new DateTimeOffset(2026, 2, 28, 23, 0, 0, TimeSpan.Zero));

        feb28.Select(r => (r.BudgetId, r.Window)).Should().Equal(("team", UsageWindow.Day), ("team", UsageWindow.Month), ("rpd", UsageWindow.Day));
        BudgetUsage day = feb28[0];
        day.Used.Should().Be(7m);
        day.Remaining.Should().Be(93m);
        day.Held.Should().Be(0m);
        day.WindowStart.Should().Be(new DateTimeOffset(2026, 2, 28, 0, 0, 0, TimeSpan.Zero));
        day.WindowEnd.Should().Be(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        feb28[1].Used.Should().Be(11m, "February: 4 by the agent, 7 by the team");
        feb28[2].Used.Should().Be(2, "two requests on 28 Feb");
        (await h.Governance.GetBudgetUsageAsync("acme", new DateTimeOffset(2026, 2, 28, 23, 0, 0, TimeSpan.Zero), subject: "sales"))
            .Select(r => r.BudgetId).Should().Equal("rpd");
        IReadOnlyList<BudgetUsage> march = await h.Governance.GetBudgetUsageAsync("acme", h.Time.GetUtcNow());
        Row(march, "team", window: UsageWindow.Month).Used.Should().Be(11m);
        march.Should().Equal(h.Governance.GetBudgetUsage("acme").Where(r => r.Measure != LimitMeasure.InFlight), "the ledger and the live counters agree");
        (await h.Governance.GetBudgetUsageAsync("nobody", T0)).Should().BeEmpty();
    }

    [Test]
    public async Task PastWindow_ASessionsBudget_IsReportedForTheNamedSessionOnly()
    {
        var breaker = new BudgetOptions { Id = "loop", Subject = "agent:a", PerSession = true };
        breaker.Limits.Add(new BudgetLimitOptions { Amount = 5 });
        await using GuardHarness h = await Start(Options(breaker));
        await Spend(h, "agent:a", 1, session: "run-1");
        await Spend(h, "agent:a", 2, session: "run-2");
        h.Time.Advance(TimeSpan.FromMinutes(1));
        await Spend(h, "agent:a", 1, session: "run-1");

        (await h.Governance.GetBudgetUsageAsync("acme", T0.AddSeconds(30))).Should().BeEmpty();
        Row(await h.Governance.GetBudgetUsageAsync("acme", T0.AddSeconds(30), sessionId: "run-1"), "loop").Used.Should().Be(1m, "only what was admitted before the instant");
        Row(await h.Governance.GetBudgetUsageAsync("acme", T0.AddMinutes(2), sessionId: "run-1"), "loop").Used.Should().Be(2m);
        Row(await h.Governance.GetBudgetUsageAsync("acme", T0.AddMinutes(2), sessionId: "run-2"), "loop").Used.Should().Be(2m);
    }

    [Test]
    public async Task GetBudgetUsage_AHoldPastItsTtl_IsNotReportedAsHeld()
    {
        await using GuardHarness h = await Start(Options(GovernanceTests.Budget("team", "search", 10)));
        ReservationResult abandoned = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Subject = "search", Amount = 4, Ttl = TimeSpan.FromSeconds(10) });
        abandoned.IsAdmitted.Should().BeTrue();
        Now(h, "team").Held.Should().Be(4m);

        h.Time.Advance(TimeSpan.FromSeconds(11));

        BudgetUsage usage = Now(h, "team");
        usage.Held.Should().Be(0m);
        usage.Remaining.Should().Be(10m);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (int i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        condition().Should().BeTrue();
    }
}
