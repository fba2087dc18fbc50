using FluentAssertions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests;

public sealed class GovernanceValidationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private static BudgetOptions Limit(string id, string? subject, Action<BudgetLimitOptions> configure)
    {
        var budget = new BudgetOptions { Id = id, Subject = subject };
        var limit = new BudgetLimitOptions { Amount = 5, Window = "month" };
        configure(limit);
        budget.Limits.Add(limit);
        return budget;
    }

    public static IEnumerable<TestCaseData> BadBudgets()
    {
        yield return new TestCaseData(Limit("b", "search", l => l.Amount = 0), "customers[acme].budgets[b].limits[0]: Amount must be positive (0)").SetName("ZeroAmount");
        yield return new TestCaseData(Limit("b", "search", l => l.Amount = -3), "Amount must be positive (-3)").SetName("NegativeAmount");
        yield return new TestCaseData(Limit("b", "search", l => l.Amount = 1.0000001m), "more than 6 decimal places").SetName("AmountBeyondTheScale");
        yield return new TestCaseData(Limit("b", "search", l => (l.Measure, l.Amount) = (LimitMeasure.Requests, 2.5m)), "Amount must be a whole number (2.5)").SetName("FractionalRequests");
        yield return new TestCaseData(Limit("b", "nobody", _ => { }), "Subject 'nobody' is not a node of the customer's subject tree").SetName("UnknownNode");
        yield return new TestCaseData(Limit("b", "search", l => l.Window = "fortnight"), "Window 'fortnight' is not a window (second, minute, hour, day, week, month, year").SetName("WindowThatDoesNotParse");
        yield return new TestCaseData(Limit("b", "search", l => l.Window = "3"), "Window '3' is not a window").SetName("WindowAsANumber");
        yield return new TestCaseData(Limit("b", "search", l => l.Measure = LimitMeasure.InFlight), "a limit on requests in flight has no window").SetName("InFlightWithAWindow");
        yield return new TestCaseData(Limit("b", "search", l => l.OverageCap = 2), "OverageCap applies only to a Soft or Throttled limit").SetName("OverageCapOnAHardLimit");
        yield return new TestCaseData(Limit("b", "search", l => (l.Enforcement, l.ThrottleInterval) = (LimitEnforcement.Throttled, TimeSpan.Zero)), "ThrottleInterval must be positive").SetName("ThrottleWithoutInterval");
        yield return new TestCaseData(Limit("b", "search", l => (l.Enforcement, l.ThrottleAtPercent) = (LimitEnforcement.Throttled, 150)), "ThrottleAtPercent must be greater than 0 and at most 100 (150)").SetName("ThrottleAbove100");
        yield return new TestCaseData(Limit("b", "search", l => l.AlertAt.Add("eighty")), "AlertAt 'eighty' is not a threshold").SetName("AlertThatDoesNotParse");
        yield return new TestCaseData(Limit("b", "search", l => l.Measure = (LimitMeasure)9), "Measure has the undefined value 9").SetName("UndefinedMeasure");
        yield return new TestCaseData(Limit("", "search", _ => { }), "Id is empty").SetName("EmptyId");
        yield return new TestCaseData(new BudgetOptions { Id = "b" }, "customers[acme].budgets[b]: the budget has no limits").SetName("NoLimits");
        yield return new TestCaseData(new BudgetOptions { Id = "b", CreditType = "gold", Limits = { new BudgetLimitOptions { Amount = 1 } } }, "CreditType 'gold' is not a configured credit type").SetName("UnknownCreditType");
        yield return new TestCaseData(new BudgetOptions { Id = "b", Model = "", Limits = { new BudgetLimitOptions { Amount = 1 } } }, "Model is empty").SetName("EmptyModel");
    }

    private static async Task<GuardHarness> StartWithTeamCap()
    {
        var governance = new GovernanceOptions();
        CustomerGovernanceOptions acme = GovernanceTests.Acme();
        acme.Budgets.Add(GovernanceTests.Budget("team", "search", 2));
        governance.Customers.Add(acme);
        GuardHarness h = await GuardHarness.StartAsync(time: new ManualTimeProvider(T0), governance: governance);
        await h.GrantAsync("acme", 100m);
        return h;
    }

    private static async Task<ReservationStatus> SpendInTeam(GuardHarness h, decimal amount)
    {
        ReservationResult r = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Subject = "search", Amount = amount });
        if (r.IsAdmitted)
        {
            await r.Reservation.SettleAsync(amount);
        }

        return r.Status;
    }

    [TestCaseSource(nameof(BadBudgets))]
    public async Task SetBudget_Invalid_ThrowsNamingTheProblemAndChangesNothing(BudgetOptions bad, string expected)
    {
        await using GuardHarness h = await StartWithTeamCap();
        IReadOnlyList<BudgetUsage> before = h.Governance.GetBudgetUsage("acme");

        Action set = () => h.Governance.SetBudget("acme", bad);

        set.Should().Throw<GovernanceValidationException>().Which.Errors.Should().Contain(e => e.Contains(expected, StringComparison.Ordinal));
        h.Governance.GetBudgetUsage("acme").Should().Equal(before);
        (await SpendInTeam(h, 2)).Should().Be(ReservationStatus.Admitted);
        (await SpendInTeam(h, 1)).Should().Be(ReservationStatus.BudgetExceeded, "the team cap in force is unchanged");
    }

    [Test]
    public async Task SetBudget_InvalidReplacement_KeepsTheBudgetInForce()
    {
        await using GuardHarness h = await StartWithTeamCap();

        Action set = () => h.Governance.SetBudget("acme", Limit("team", "search", l => l.Amount = -1));

        set.Should().Throw<GovernanceValidationException>();
        (await SpendInTeam(h, 3)).Should().Be(ReservationStatus.BudgetExceeded);
    }

    [Test]
    public async Task SetSubject_MakingACycle_ThrowsAndChangesNothing()
    {
        await using GuardHarness h = await StartWithTeamCap();

        Action cycle = () => h.Governance.SetSubject("acme", "eng", "agent:a");

        cycle.Should().Throw<GovernanceValidationException>().Which.Errors.Should().ContainSingle(e => e.Contains("the tree has a cycle", StringComparison.Ordinal) && e.Contains("eng", StringComparison.Ordinal));
        (await SpendInTeam(h, 2)).Should().Be(ReservationStatus.Admitted);
        (await SpendInTeam(h, 1)).Should().Be(ReservationStatus.BudgetExceeded);
    }

    [Test]
    public async Task SetSubject_UnknownParentOrSlash_Throws()
    {
        await using GuardHarness h = await StartWithTeamCap();

        h.Invoking(x => x.Governance.SetSubject("acme", "x", "ghost")).Should().Throw<GovernanceValidationException>().Which.Errors.Should().Contain(e => e.Contains("Parent 'ghost' is not a subject", StringComparison.Ordinal));
        h.Invoking(x => x.Governance.SetSubject("acme", "a/b", null)).Should().Throw<GovernanceValidationException>().Which.Errors.Should().Contain(e => e.Contains("contains '/'", StringComparison.Ordinal));
        h.Invoking(x => x.Governance.SetSubject("acme", "self", "self")).Should().Throw<GovernanceValidationException>().Which.Errors.Should().Contain(e => e.Contains("cycle", StringComparison.Ordinal));
        h.Governance.GetBudgetUsage("acme", "x").Should().BeEmpty();
    }

    [Test]
    public async Task RemoveSubject_StillUnderABudget_ThrowsAndKeepsIt()
    {
        await using GuardHarness h = await StartWithTeamCap();

        h.Invoking(x => x.Governance.RemoveSubject("acme", "search")).Should().Throw<GovernanceValidationException>().Which.Errors.Should().Contain(e => e.Contains("Subject 'search' is not a node", StringComparison.Ordinal));
        h.Governance.RemoveSubject("acme", "ghost").Should().BeFalse();
        h.Governance.RemoveSubject("acme", "sales").Should().BeTrue();
        (await SpendInTeam(h, 3)).Should().Be(ReservationStatus.BudgetExceeded);
    }

    [Test]
    public async Task SetTimeZone_Unknown_Throws()
    {
        await using GuardHarness h = await StartWithTeamCap();

        h.Invoking(x => x.Governance.SetTimeZone("acme", "Mars/Olympus")).Should().Throw<GovernanceValidationException>().Which.Errors.Should().Contain(e => e.Contains("TimeZone 'Mars/Olympus'", StringComparison.Ordinal));
    }

    [Test]
    public void Start_InvalidConfiguration_ThrowsListingEveryProblem()
    {
        var governance = new GovernanceOptions();
        CustomerGovernanceOptions acme = GovernanceTests.Acme();
        acme.Subjects.Add(new SubjectOptions { Id = "loop1", Parent = "loop2" });
        acme.Subjects.Add(new SubjectOptions { Id = "loop2", Parent = "loop1" });
        acme.Budgets.Add(Limit("b1", "nobody", _ => { }));
        acme.Budgets.Add(Limit("b2", "search", l => l.Window = "dayly"));
        governance.Customers.Add(acme);

        Func<Task> start = () => GuardHarness.StartAsync(governance: governance);

        start.Should().ThrowAsync<GovernanceValidationException>().Result.Which.Errors.Should().HaveCount(3);
    }

    [Test]
    public async Task ApplyConfiguration_InvalidReload_KeepsThePolicyInForce()
    {
        await using GuardHarness h = await StartWithTeamCap();
        var reload = new GovernanceOptions();
        CustomerGovernanceOptions acme = GovernanceTests.Acme();
        acme.Budgets.Add(Limit("team", "search", l => l.Window = "fortnight"));
        reload.Customers.Add(acme);

        h.Guard.ApplyConfiguration(reload, throwOnError: false);

        (await SpendInTeam(h, 2)).Should().Be(ReservationStatus.Admitted);
        (await SpendInTeam(h, 1)).Should().Be(ReservationStatus.BudgetExceeded);
    }

    [Test]
    public async Task ApplyConfiguration_ValidReload_AppliesAndKeepsAdminChanges()
    {
        await using GuardHarness h = await StartWithTeamCap();
        h.Governance.SetBudget("acme", GovernanceTests.Budget("sales", "sales", 1));
        var reload = new GovernanceOptions();
        CustomerGovernanceOptions acme = GovernanceTests.Acme();
        acme.Budgets.Add(GovernanceTests.Budget("team", "search", 5));
        reload.Customers.Add(acme);

        h.Guard.ApplyConfiguration(reload, throwOnError: false);

        (await SpendInTeam(h, 5)).Should().Be(ReservationStatus.Admitted);
        (await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Subject = "sales", Amount = 2 })).Status.Should().Be(ReservationStatus.BudgetExceeded, "the admin's budget survives the reload");
    }

    [Test]
    public async Task Reserve_TagThatIsEmpty_ThrowsNamingTags()
    {
        await using GuardHarness h = await StartWithTeamCap();

        Func<Task> reserve = () => h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1, Tags = [""] }).AsTask();

        (await reserve.Should().ThrowAsync<ArgumentException>()).Which.ParamName.Should().Be("Tags");
        h.Available("acme").Should().Be(100m);
    }
}
