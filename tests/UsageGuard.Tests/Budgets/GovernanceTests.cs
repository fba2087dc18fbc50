using FluentAssertions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests;

public sealed class GovernanceTests
{
    // Monday 2 March 2026, 10:00 UTC: mid-day, mid-month.
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    internal static CustomerGovernanceOptions Acme()
    {
        var acme = new CustomerGovernanceOptions { CustomerId = "acme" };
        acme.Subjects.Add(new SubjectOptions { Id = "org" });
        acme.Subjects.Add(new SubjectOptions { Id = "eng", Parent = "org" });
        acme.Subjects.Add(new SubjectOptions { Id = "search", Parent = "eng" });
        acme.Subjects.Add(new SubjectOptions { Id = "agent:a", Parent = "search" });
        acme.Subjects.Add(new SubjectOptions { Id = "agent:b", Parent = "search" });
        acme.Subjects.Add(new SubjectOptions { Id = "sales", Parent = "org" });
        return acme;
    }

    internal static BudgetOptions Budget(string id, string? subject, decimal amount, string? window = "month", LimitMeasure measure = LimitMeasure.Credits, LimitEnforcement enforcement = LimitEnforcement.Hard)
    {
        var budget = new BudgetOptions { Id = id, Subject = subject };
        budget.Limits.Add(new BudgetLimitOptions { Amount = amount, Window = window, Measure = measure, Enforcement = enforcement });
        return budget;
    }

    private static async Task<GuardHarness> Start(CustomerGovernanceOptions customer, decimal credits = 1_000m, DateTimeOffset? now = null)
    {
        var governance = new GovernanceOptions();
        governance.Customers.Add(customer);
        GuardHarness h = await GuardHarness.StartAsync(time: new ManualTimeProvider(now ?? T0), governance: governance);
        await h.GrantAsync(customer.CustomerId, credits);
        return h;
    }

    private static ValueTask<ReservationResult> Reserve(GuardHarness h, string subject, decimal amount, string? session = null, string? model = null, IReadOnlyList<string>? tags = null, TimeSpan? ttl = null) =>
        h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Subject = subject, Amount = amount, SessionId = session, Model = model, Tags = tags, Ttl = ttl });

    private static async Task<bool> Spend(GuardHarness h, string subject, decimal amount, string? session = null)
    {
        ReservationResult r = await Reserve(h, subject, amount, session);
        if (r.IsAdmitted)
        {
            await r.Reservation.SettleAsync(amount);
        }

        return r.IsAdmitted;
    }

    private static BudgetUsage Usage(GuardHarness h, string budgetId, string? session = null) =>
        h.Governance.GetBudgetUsage("acme", sessionId: session).First(u => u.BudgetId == budgetId);

    [Test]
    public async Task Reserve_TeamCapTighterThanAgentCap_DeniesAtTheTeamAndNamesIt()
    {
        CustomerGovernanceOptions acme = Acme();
        acme.Budgets.Add(Budget("team", "search", 8));
        acme.Budgets.Add(Budget("agent-a", "agent:a", 3));
        acme.Budgets.Add(Budget("agent-b", "agent:b", 10));
        await using GuardHarness h = await Start(acme);

        int admittedA = 0;
        while (await Spend(h, "org/eng/search/agent:a", 1))
        {
            admittedA++;
        }

        admittedA.Should().Be(3);
        ReservationResult deniedA = await Reserve(h, "org/eng/search/agent:a", 1);
        deniedA.Status.Should().Be(ReservationStatus.BudgetExceeded);
        deniedA.Budget!.Value.BudgetId.Should().Be("agent-a");

        int admittedB = 0;
        while (await Spend(h, "org/eng/search/agent:b", 1))
        {
            admittedB++;
        }

        admittedB.Should().Be(5, "the team's 8 are spent after A's 3 and B's 5, below B's own cap of 10");
        ReservationResult deniedB = await Reserve(h, "org/eng/search/agent:b", 1);
        deniedB.Status.Should().Be(ReservationStatus.BudgetExceeded);
        deniedB.Scope.Should().Be("budget:team");
        BudgetDenial denial = deniedB.Budget!.Value;
        denial.BudgetId.Should().Be("team");
        denial.Subject.Should().Be("search");
        denial.Window.Should().Be(UsageWindow.Month);
        denial.Limit.Should().Be(8m);
        denial.Used.Should().Be(8m);
        denial.WindowEnd.Should().Be(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero));
        deniedB.RetryAfter.Should().Be(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero) - T0);
        deniedB.Reason.Should().Contain("team").And.Contain("search");
        h.Balance("acme").Should().Be(1_000m - 8m, "a denied request is charged nothing");
    }

    [Test]
    public async Task Reserve_SubjectGivenByNodeIdOrPath_PassesTheSameBudgets()
    {
        CustomerGovernanceOptions acme = Acme();
        acme.Budgets.Add(Budget("team", "search", 2));
        await using GuardHarness h = await Start(acme);

        (await Spend(h, "agent:a", 1)).Should().BeTrue();
        (await Spend(h, "some/stale/path/agent:b", 1)).Should().BeTrue();
        ReservationResult denied = await Reserve(h, "search", 1);

        denied.Status.Should().Be(ReservationStatus.BudgetExceeded, "the tree, not the path, places a node: both agents are under the team");
        (await Spend(h, "sales", 1)).Should().BeTrue("another branch is not under the team");
        (await Spend(h, "not-a-node", 1)).Should().BeTrue("a subject that is not a node passes the customer-wide budgets only");
    }

    [Test]
    public async Task Reserve_SeveralWindows_AllMustPassAndEachResetsAtItsBoundary()
    {
        CustomerGovernanceOptions acme = Acme();
        BudgetOptions budget = Budget("team", "search", 10, "day");
        budget.Limits.Add(new BudgetLimitOptions { Amount = 15, Window = "month" });
        acme.Budgets.Add(budget);
        await using GuardHarness h = await Start(acme);

        for (int i = 0; i < 10; i++)
        {
            (await Spend(h, "search", 1)).Should().BeTrue();
        }

        ReservationResult day = await Reserve(h, "search", 1);
        day.Status.Should().Be(ReservationStatus.BudgetExceeded);
        day.Budget!.Value.Window.Should().Be(UsageWindow.Day);
        day.RetryAfter.Should().Be(TimeSpan.FromHours(14));

        h.Time.SetUtcNow(new DateTimeOffset(2026, 3, 3, 0, 0, 0, TimeSpan.Zero).AddTicks(-1));
        (await Reserve(h, "search", 1)).IsAdmitted.Should().BeFalse("the day has not ended one tick before midnight");
        h.Time.SetUtcNow(new DateTimeOffset(2026, 3, 3, 0, 0, 0, TimeSpan.Zero));
        for (int i = 0; i < 5; i++)
        {
            (await Spend(h, "search", 1)).Should().BeTrue("a new day starts exactly at midnight");
        }

        ReservationResult month = await Reserve(h, "search", 1);
        month.Status.Should().Be(ReservationStatus.BudgetExceeded);
        month.Budget!.Value.Window.Should().Be(UsageWindow.Month, "the month's 15 are spent although the day has room");
        h.Governance.GetBudgetUsage("acme").Where(u => u.BudgetId == "team").Select(u => (u.Window, u.Used)).Should().BeEquivalentTo(new[] { ((UsageWindow?)UsageWindow.Day, 5m), (UsageWindow.Month, 15m) });
    }

    [Test]
    public async Task Reserve_WindowsInTheCustomersTimeZone_ResetAtLocalMidnight()
    {
        CustomerGovernanceOptions acme = Acme();
        acme.TimeZone = "America/New_York";
        acme.Budgets.Add(Budget("daily", null, 1, "day"));
        await using GuardHarness h = await Start(acme);

        (await Spend(h, "search", 1)).Should().BeTrue();
        h.Time.SetUtcNow(new DateTimeOffset(2026, 3, 3, 0, 0, 0, TimeSpan.Zero));
        (await Spend(h, "search", 1)).Should().BeFalse("midnight UTC is 19:00 of the same day in New York");
        h.Time.SetUtcNow(new DateTimeOffset(2026, 3, 3, 5, 0, 0, TimeSpan.Zero));
        (await Spend(h, "search", 1)).Should().BeTrue("05:00 UTC is local midnight (EST)");
    }

    [Test]
    public async Task Reserve_DeniedByTheWallet_LeavesEveryBudgetUntouched()
    {
        CustomerGovernanceOptions acme = Acme();
        acme.Budgets.Add(Budget("team", "search", 100));
        acme.Budgets.Add(Budget("rpm", null, 100, "minute", LimitMeasure.Requests));
        acme.Budgets.Add(Budget("inflight", null, 5, null, LimitMeasure.InFlight));
        await using GuardHarness h = await Start(acme, credits: 2m);

        ReservationResult r = await Reserve(h, "search", 3);

        r.Status.Should().Be(ReservationStatus.InsufficientCredits);
        foreach (BudgetUsage usage in h.Governance.GetBudgetUsage("acme"))
        {
            (usage.Used + usage.Held).Should().Be(0, $"{usage.BudgetId} must not keep anything of a refused request");
        }
    }

    [Test]
    public async Task Reserve_DeniedByOneBudget_LeavesTheOthersAndTheWalletUntouched()
    {
        CustomerGovernanceOptions acme = Acme();
        acme.Budgets.Add(Budget("org", "org", 100));
        acme.Budgets.Add(Budget("rpm", null, 100, "minute", LimitMeasure.Requests));
        acme.Budgets.Add(Budget("inflight", null, 5, null, LimitMeasure.InFlight));
        acme.Budgets.Add(Budget("agent", "agent:a", 2));
        await using GuardHarness h = await Start(acme);

        ReservationResult r = await Reserve(h, "agent:a", 3);

        r.Status.Should().Be(ReservationStatus.BudgetExceeded);
        r.Budget!.Value.BudgetId.Should().Be("agent");
        h.Available("acme").Should().Be(1_000m);
        Usage(h, "org").Held.Should().Be(0);
        Usage(h, "rpm").Held.Should().Be(0, "a denied request consumes no rate quota");
        Usage(h, "inflight").Held.Should().Be(0, "a denied request takes no concurrency slot");
    }

    [Test]
    public async Task Settle_BelowTheHold_CountsWhatWasSpent()
    {
        CustomerGovernanceOptions acme = Acme();
        acme.Budgets.Add(Budget("team", "search", 10));
        await using GuardHarness h = await Start(acme);

        ReservationResult r = await Reserve(h, "search", 6);
        Usage(h, "team").Held.Should().Be(6);
        await r.Reservation.SettleAsync(2.5m);

        BudgetUsage usage = Usage(h, "team");
        usage.Used.Should().Be(2.5m);
        usage.Held.Should().Be(0);
        usage.Remaining.Should().Be(7.5m);
    }

    [Test]
    public async Task Reserve_SoftLimit_AdmitsOverageUpToTheCap()
    {
        CustomerGovernanceOptions acme = Acme();
        BudgetOptions budget = Budget("team", "search", 5, enforcement: LimitEnforcement.Soft);
        budget.Limits[0].OverageCap = 2;
        acme.Budgets.Add(budget);
        await using GuardHarness h = await Start(acme);

        int admitted = 0;
        while (await Spend(h, "search", 1))
        {
            admitted++;
        }

        admitted.Should().Be(7);
        BudgetUsage usage = Usage(h, "team");
        usage.Used.Should().Be(7);
        usage.Overage.Should().Be(2);
        usage.Remaining.Should().Be(0);
    }

    [Test]
    public async Task Reserve_ThrottledPastTheThreshold_AdmitsOnePerInterval()
    {
        CustomerGovernanceOptions acme = Acme();
        BudgetOptions budget = Budget("team", "search", 10, enforcement: LimitEnforcement.Throttled);
        budget.Limits[0].ThrottleAtPercent = 50;
        budget.Limits[0].ThrottleInterval = TimeSpan.FromSeconds(30);
        acme.Budgets.Add(budget);
        await using GuardHarness h = await Start(acme);

        for (int i = 0; i < 5; i++)
        {
            (await Spend(h, "search", 1)).Should().BeTrue("below the threshold nothing is throttled");
        }

        (await Spend(h, "search", 1)).Should().BeTrue("the first request past the threshold takes the slot");
        ReservationResult throttled = await Reserve(h, "search", 1);
        throttled.Status.Should().Be(ReservationStatus.RateLimited);
        throttled.RetryAfter.Should().Be(TimeSpan.FromSeconds(30));

        h.Time.Advance(TimeSpan.FromSeconds(29));
        (await Reserve(h, "search", 1)).Status.Should().Be(ReservationStatus.RateLimited);
        h.Time.Advance(TimeSpan.FromSeconds(1));
        (await Spend(h, "search", 1)).Should().BeTrue("the next slot is due");
    }

    [Test]
    public async Task Reserve_ThrottleSlotTakenByARequestDeniedElsewhere_IsGivenBack()
    {
        CustomerGovernanceOptions acme = Acme();
        BudgetOptions budget = Budget("org", "org", 10, enforcement: LimitEnforcement.Throttled);
        budget.Limits[0].ThrottleAtPercent = 10;
        acme.Budgets.Add(budget);
        acme.Budgets.Add(Budget("agent", "agent:a", 1));
        await using GuardHarness h = await Start(acme);
        (await Spend(h, "agent:a", 1)).Should().BeTrue();

        (await Reserve(h, "agent:a", 1)).Status.Should().Be(ReservationStatus.BudgetExceeded);

        (await Spend(h, "sales", 1)).Should().BeTrue("the refused request gave its throttle slot back");
    }

    [Test]
    public async Task Reserve_SessionBudget_TripsAndDeniesEveryLaterRequestUntilReset()
    {
        CustomerGovernanceOptions acme = Acme();
        BudgetOptions session = Budget("loop-breaker", "agent:a", 5, window: null);
        session.PerSession = true;
        session.Limits.Add(new BudgetLimitOptions { Measure = LimitMeasure.Requests, Amount = 100 });
        acme.Budgets.Add(session);
        await using GuardHarness h = await Start(acme);

        (await Spend(h, "agent:a", 2, "run-1")).Should().BeTrue();
        (await Spend(h, "agent:a", 2, "run-1")).Should().BeTrue();
        ReservationResult tripping = await Reserve(h, "agent:a", 2, "run-1");
        tripping.Status.Should().Be(ReservationStatus.SessionTripped);
        tripping.Budget!.Value.SessionId.Should().Be("run-1");
        tripping.Budget!.Value.BudgetId.Should().Be("loop-breaker");

        ReservationResult small = await Reserve(h, "agent:a", 0.5m, "run-1");
        small.Status.Should().Be(ReservationStatus.SessionTripped, "the breaker is open: even a request that would fit is refused");
        small.Scope.Should().Be("session:run-1");
        small.Budget.Should().Be(tripping.Budget, "a later refusal reports the refusal that opened the breaker: its level, measure and window");
        small.Budget!.Value.Subject.Should().Be("agent:a");
        small.Budget!.Value.Limit.Should().Be(5m);
        (await Spend(h, "agent:a", 2, "run-2")).Should().BeTrue("another session has its own copy");
        (await Spend(h, "agent:a", 2)).Should().BeTrue("a request without a session is not under a per-session budget");
        Usage(h, "loop-breaker", "run-1").Tripped.Should().BeTrue();

        h.Governance.ResetSession("acme", "run-1").Should().BeTrue();
        (await Spend(h, "agent:a", 2, "run-1")).Should().BeTrue("a reset closes the breaker and forgets what the session used");
        Usage(h, "loop-breaker", "run-1").Used.Should().Be(2);
    }

    [Test]
    public async Task Reserve_SessionMaxSteps_TripsAtTheStepAfterTheLast()
    {
        CustomerGovernanceOptions acme = Acme();
        BudgetOptions session = Budget("steps", null, 3, window: null, measure: LimitMeasure.Requests);
        session.PerSession = true;
        acme.Budgets.Add(session);
        await using GuardHarness h = await Start(acme);

        for (int i = 0; i < 3; i++)
        {
            (await Spend(h, "search", 1, "run")).Should().BeTrue();
        }

        (await Reserve(h, "search", 1, "run")).Status.Should().Be(ReservationStatus.SessionTripped);
    }

    [Test]
    public async Task Reserve_RequestsPerMinute_RollOverExactlyAtTheBoundary()
    {
        CustomerGovernanceOptions acme = Acme();
        acme.Budgets.Add(Budget("rpm", null, 3, "minute", LimitMeasure.Requests));
        await using GuardHarness h = await Start(acme, now: T0.AddSeconds(30));

        for (int i = 0; i < 3; i++)
        {
            (await Spend(h, "search", 1)).Should().BeTrue();
        }

        ReservationResult limited = await Reserve(h, "search", 1);
        limited.Status.Should().Be(ReservationStatus.RateLimited);
        limited.RetryAfter.Should().Be(TimeSpan.FromSeconds(30));
        h.Time.SetUtcNow(T0.AddMinutes(1).AddTicks(-1));
        (await Reserve(h, "search", 1)).Status.Should().Be(ReservationStatus.RateLimited);
        h.Time.SetUtcNow(T0.AddMinutes(1));
        (await Spend(h, "search", 1)).Should().BeTrue();
    }

    [Test]
    public async Task Release_GivesTheRequestBack()
    {
        CustomerGovernanceOptions acme = Acme();
        acme.Budgets.Add(Budget("rpm", null, 1, "minute", LimitMeasure.Requests));
        await using GuardHarness h = await Start(acme);

        ReservationResult r = await Reserve(h, "search", 1);
        await r.Reservation.ReleaseAsync();

        (await Spend(h, "search", 1)).Should().BeTrue("a released reservation did no work and counts no request");
    }

    [Test]
    public async Task Settle_TokensPerMinute_AdmittedOnTheEstimateAndCorrectedToTheActual()
    {
        CustomerGovernanceOptions acme = Acme();
        acme.Budgets.Add(Budget("tpm", null, 1_000, "minute", LimitMeasure.Tokens));
        var catalog = new CatalogOptions();
        catalog.Models.Add(new ModelRate { Model = "m", CreditType = "credits", InputPerMillion = 1m, OutputPerMillion = 2m });
        catalog.UnknownFeatures = UnknownPolicy.Allow;
        var governance = new GovernanceOptions();
        governance.Customers.Add(acme);
        await using GuardHarness h = await GuardHarness.StartAsync(time: new ManualTimeProvider(T0), catalog: catalog, governance: governance);
        await h.GrantAsync("acme", 1_000m);

        ReservationResult big = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Model = "m", Tokens = new TokenUsage(600, 0, 300, 0) });
        big.IsAdmitted.Should().BeTrue();
        ReservationResult tooMuch = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Model = "m", Tokens = new TokenUsage(100, 0, 100, 0) });
        tooMuch.Status.Should().Be(ReservationStatus.RateLimited, "the estimate of 900 leaves 100");

        await h.Gate.SettleAsync(big.Reservation, new TokenUsage(200, 0, 100, 0));
        Usage(h, "tpm").Used.Should().Be(300);
        ReservationResult fits = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Model = "m", Tokens = new TokenUsage(400, 0, 300, 0) });
        fits.IsAdmitted.Should().BeTrue("the settlement corrected 900 to 300");
    }

    [Test]
    public async Task InFlight_LeasesComeBackOnSettleReleaseAndTtl()
    {
        CustomerGovernanceOptions acme = Acme();
        acme.Budgets.Add(Budget("inflight", null, 2, null, LimitMeasure.InFlight));
        await using GuardHarness h = await Start(acme);

        ReservationResult a = await Reserve(h, "search", 1);
        ReservationResult b = await Reserve(h, "search", 1, ttl: TimeSpan.FromSeconds(10));
        ReservationResult c = await Reserve(h, "search", 1);
        c.Status.Should().Be(ReservationStatus.ConcurrencyLimited);
        c.RetryAfter.Should().BeNull();

        await a.Reservation.SettleAsync(1m);
        ReservationResult d = await Reserve(h, "search", 1);
        d.IsAdmitted.Should().BeTrue("settling gave a lease back");
        try
        {
            throw new InvalidOperationException("the model call failed");
        }
        catch (InvalidOperationException)
        {
            await d.Reservation.ReleaseAsync();
        }

        ReservationResult e = await Reserve(h, "search", 1);
        e.IsAdmitted.Should().BeTrue("releasing after the failure gave a lease back");
        (await Reserve(h, "search", 1)).Status.Should().Be(ReservationStatus.ConcurrencyLimited);

        // b is abandoned (its host crashed, say): its TTL gives the lease back, without anyone settling it.
        h.Time.Advance(TimeSpan.FromSeconds(11));
        h.Guard.SweepReservations();
        (await Reserve(h, "search", 1)).IsAdmitted.Should().BeTrue("the abandoned reservation's lease came back at its TTL");
        Usage(h, "inflight").Held.Should().Be(2);
    }

    [Test]
    public async Task Reserve_DimensionBudgets_CountOnlyMatchingRequests()
    {
        CustomerGovernanceOptions acme = Acme();
        BudgetOptions byModel = Budget("gpt", null, 2);
        byModel.Model = "gpt-x";
        BudgetOptions byTag = Budget("beta", "eng", 1);
        byTag.Tag = "beta";
        acme.Budgets.Add(byModel);
        acme.Budgets.Add(byTag);
        await using GuardHarness h = await Start(acme);
        string[] beta = ["beta", "prod"];

        (await Reserve(h, "search", 2, model: "gpt-x")).IsAdmitted.Should().BeTrue();
        (await Reserve(h, "search", 1, model: "gpt-x")).Status.Should().Be(ReservationStatus.BudgetExceeded);
        (await Reserve(h, "search", 1, model: "other")).IsAdmitted.Should().BeTrue();
        (await Reserve(h, "search", 1, tags: beta)).IsAdmitted.Should().BeTrue();
        (await Reserve(h, "search", 1, tags: beta)).Status.Should().Be(ReservationStatus.BudgetExceeded);
        (await Reserve(h, "sales", 1, tags: beta)).IsAdmitted.Should().BeTrue("the tag budget is on eng only");
        (await Reserve(h, "search", 1, tags: ["prod"])).IsAdmitted.Should().BeTrue();
    }

    [Test]
    public async Task SetBudget_ChangedAmount_KeepsWhatTheWindowCounted()
    {
        CustomerGovernanceOptions acme = Acme();
        acme.Budgets.Add(Budget("team", "search", 3));
        await using GuardHarness h = await Start(acme);
        for (int i = 0; i < 3; i++)
        {
            (await Spend(h, "search", 1)).Should().BeTrue();
        }

        h.Governance.SetBudget("acme", Budget("team", "search", 4));

        (await Spend(h, "search", 1)).Should().BeTrue();
        (await Spend(h, "search", 1)).Should().BeFalse("raising the cap to 4 leaves room for one, not a fresh 4");
        h.Governance.RemoveBudget("acme", "team").Should().BeTrue();
        (await Spend(h, "search", 1)).Should().BeTrue();
        h.Governance.RemoveBudget("acme", "team").Should().BeFalse();
    }

    [Test]
    public async Task SetSubject_MovedNode_PassesItsNewAncestorsBudgets()
    {
        CustomerGovernanceOptions acme = Acme();
        acme.Budgets.Add(Budget("sales", "sales", 1));
        await using GuardHarness h = await Start(acme);

        (await Spend(h, "agent:a", 5)).Should().BeTrue();
        h.Governance.SetSubject("acme", "agent:a", "sales");

        (await Reserve(h, "agent:a", 5)).Status.Should().Be(ReservationStatus.BudgetExceeded, "the agent now belongs to sales");
    }

    [Test]
    public async Task SetBudget_AtRuntimeForACustomerWithoutConfiguration_Applies()
    {
        await using GuardHarness h = await GuardHarness.StartAsync(time: new ManualTimeProvider(T0));
        await h.GrantAsync("globex", 100m);
        h.Governance.SetSubject("globex", "team", null);
        h.Governance.SetBudget("globex", Budget("team", "team", 1));

        (await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "globex", Subject = "team", Amount = 2 })).Status.Should().Be(ReservationStatus.BudgetExceeded);
        (await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "globex", Subject = "team", Amount = 1 })).IsAdmitted.Should().BeTrue();
    }

    [Test]
    public async Task Alerts_RaisedOncePerThresholdPerWindow()
    {
        CustomerGovernanceOptions acme = Acme();
        BudgetOptions budget = Budget("team", "search", 10, "day");
        budget.Limits[0].AlertAt.Add("50%");
        budget.Limits[0].AlertAt.Add("9");
        acme.Budgets.Add(budget);
        await using GuardHarness h = await Start(acme);
        var alerts = new List<UsageAlert>();
        var arrived = new SemaphoreSlim(0);
        h.Governance.AlertRaised += (_, alert) =>
        {
            lock (alerts)
            {
                alerts.Add(alert);
            }

            arrived.Release();
        };

        for (int i = 0; i < 10; i++)
        {
            await Spend(h, "search", 1);
        }

        (await arrived.WaitAsync(TimeSpan.FromSeconds(5))).Should().BeTrue();
        (await arrived.WaitAsync(TimeSpan.FromSeconds(5))).Should().BeTrue();
        (await arrived.WaitAsync(TimeSpan.FromMilliseconds(200))).Should().BeFalse("each threshold is raised once in a window");
        lock (alerts)
        {
            alerts.Select(a => (a.Threshold, a.Used)).Should().Equal(("50%", 5m), ("9", 9m));
            alerts[0].BudgetId.Should().Be("team");
            alerts[0].Subject.Should().Be("search");
            alerts[0].WindowStart.Should().Be(new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero));
        }

        h.Time.Advance(TimeSpan.FromDays(1));
        for (int i = 0; i < 5; i++)
        {
            await Spend(h, "search", 1);
        }

        (await arrived.WaitAsync(TimeSpan.FromSeconds(5))).Should().BeTrue("a new window raises its thresholds again");
    }
}
