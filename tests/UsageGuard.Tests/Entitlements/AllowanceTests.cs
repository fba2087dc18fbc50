using FluentAssertions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests;

public sealed class AllowanceTests
{
    private static readonly DateTimeOffset September = new(2026, 9, 1, 0, 0, 0, TimeSpan.Zero);

    private static CatalogOptions Catalog(decimal? rolloverMax = null, decimal tier1 = 300m, decimal tier2 = 600m, UsageWindow period = UsageWindow.Month)
    {
        CatalogOptions catalog = TestCatalogs.Basic();
        var t1 = new PlanOptions { Id = "tier1" };
        t1.Entitlements.Add(new EntitlementOptions { Feature = "api.calls", Limit = 1_000, Window = UsageWindow.Month });
        t1.Allowances.Add(new AllowanceOptions { Id = "monthly", Amount = tier1, CreditType = "credits", Expiry = AllowanceExpiry.PeriodEnd, RolloverMax = rolloverMax });
        var t2 = new PlanOptions { Id = "tier2" };
        t2.Entitlements.Add(new EntitlementOptions { Feature = "api.calls", Limit = 4_000, Window = UsageWindow.Month });
        t2.Allowances.Add(new AllowanceOptions { Id = "monthly", Amount = tier2, CreditType = "credits", Expiry = AllowanceExpiry.PeriodEnd });
        catalog.Plans.Add(t1);
        catalog.Plans.Add(t2);
        catalog.Subscriptions.Add(new SubscriptionOptions { Customer = "acme", Plan = "tier1", Start = September, BillingPeriod = period });
        return catalog;
    }

    private static Task<ConsumeResult> Spend(GuardHarness h, decimal amount) =>
        h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = amount }).AsTask();

    private static async Task<List<LedgerEntry>> Grants(GuardHarness h) =>
        (await h.EntriesAsync()).Where(e => e.Kind == LedgerEntryKind.Grant).ToList();

    [Test]
    public async Task Allowance_IsGrantedLazilyEffectiveExactlyAtThePeriodStart()
    {
        await using GuardHarness h = await GuardHarness.StartAsync(catalog: Catalog(), time: new ManualTimeProvider(September.AddDays(3)));

        (await Spend(h, 1m)).IsAdmitted.Should().BeTrue("the customer has no credits but its plan's allowance");
        List<LedgerEntry> grants = await Grants(h);

        grants.Should().ContainSingle();
        grants[0].Block!.EffectiveAt.Should().Be(September);
        grants[0].Block!.ExpiresAt.Should().Be(September.AddMonths(1));
        grants[0].Block!.Metadata.Should().Contain("allowance", "monthly").And.Contain("offer", "tier1");
        h.Balance("acme").Should().Be(299m);
    }

    [Test]
    public async Task Allowance_NextPeriod_IsGrantedAtTheBoundaryAndNotBefore()
    {
        await using GuardHarness h = await GuardHarness.StartAsync(catalog: Catalog(), time: new ManualTimeProvider(September.AddDays(3)));
        await Spend(h, 1m);

        h.Time.SetUtcNow(September.AddMonths(1).AddTicks(-1));
        await Spend(h, 1m);
        (await Grants(h)).Should().HaveCount(1);

        h.Time.SetUtcNow(September.AddMonths(1));
        await Spend(h, 1m);
        (await Grants(h)).Should().HaveCount(2);
        h.Balance("acme").Should().Be(299m, "September's unused 298 expired at its end and October's 300 paid 1");
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task Allowance_ManyThreadsCrossingTheBoundary_GrantOnce(int seed)
    {
        await using GuardHarness h = await GuardHarness.StartAsync(catalog: Catalog(), time: new ManualTimeProvider(September.AddMonths(seed)));

        await Parallel.ForAsync(0, 16, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (_, ct) =>
        {
            for (int i = 0; i < 10; i++)
            {
                (await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m }, ct)).IsAdmitted.Should().BeTrue();
            }
        });

        (await Grants(h)).Should().ContainSingle();
        h.Balance("acme").Should().Be(140m);
    }

    [Test]
    public async Task Allowance_AfterARestart_IsNotGrantedAgain()
    {
        await using GuardHarness h = await GuardHarness.StartAsync(catalog: Catalog(), time: new ManualTimeProvider(September.AddDays(3)));
        await Spend(h, 10m);

        await h.RestartAsync();
        await Spend(h, 10m);

        (await Grants(h)).Should().ContainSingle();
        h.Balance("acme").Should().Be(280m);
    }

    [Test]
    public async Task Rollover_WorkedCases_CarryMinOfMaxAndBalance()
    {
        // An allowance of 100 with a maximum rollover of 50.
        await using GuardHarness h = await GuardHarness.StartAsync(catalog: Catalog(rolloverMax: 50m, tier1: 100m), time: new ManualTimeProvider(September.AddDays(1)));

        await Spend(h, 10m);
        h.Time.SetUtcNow(September.AddMonths(1).AddDays(1));
        await Spend(h, 0.000001m);

        // 90 left unused, capped at 50: October holds its own 100 plus 50 carried.
        h.Balance("acme").Should().Be(150m - 0.000001m);

        await Spend(h, 110m - 0.000001m);
        h.Time.SetUtcNow(September.AddMonths(2).AddDays(1));
        await Spend(h, 0.000001m);

        // 110 used of 150: 40 left, under the cap, all carried.
        h.Balance("acme").Should().Be(140m - 0.000001m);
    }

    [Test]
    public async Task PlanChange_Tier1ToTier2OnDay14Of30_CreditsTheUnusedShareAndProratesTheNewPlan()
    {
        CatalogOptions catalog = Catalog();
        DateTimeOffset change = September.AddDays(14);
        await using GuardHarness h = await GuardHarness.StartAsync(catalog: catalog, time: new ManualTimeProvider(September.AddDays(2)));
        await Spend(h, 50m);
        h.Gate.Check("acme", "api.calls").Limit.Should().Be(1_000);

        CatalogOptions changed = Catalog();
        changed.Subscriptions[0].Changes.Add(new PlanChangeOptions { At = change, Plan = "tier2" });
        h.Catalog!.Change(changed);
        h.Time.SetUtcNow(change);
        await Spend(h, 0.000001m);

        // Tier 1 gave 300 for 30 days; 14 days are used up, so it keeps 300 × 14/30 = 140, less the 50 spent = 90.
        // Tier 2 gives 600 × 16/30 = 320 for the remaining 16 days.
        h.Balance("acme").Should().Be(90m + 320m - 0.000001m);

        // Caps scale at once: 1,000 × 14/30 (466.67, the 533 unused share truncated) + 4,000 × 16/30 (2,133.33, truncated).
        h.Gate.Check("acme", "api.calls").Limit.Should().Be(467 + 2_133);
        IReadOnlyList<LedgerEntry> entries = await h.EntriesAsync();
        entries.Should().ContainSingle(e => e.Kind == LedgerEntryKind.Void).Which.Reason.Should().Contain("plan change to 'tier2'");

        h.Time.SetUtcNow(September.AddMonths(1));
        await Spend(h, 0.000001m);
        h.Gate.Check("acme", "api.calls").Limit.Should().Be(4_000, "the next period is all Tier 2");
        h.Balance("acme").Should().Be(600m - 0.000001m);
    }

    [Test]
    public async Task Cancellation_StopsGrantsAndEntitlements()
    {
        CatalogOptions catalog = Catalog();
        catalog.Subscriptions[0].CanceledAt = September.AddDays(20);
        await using GuardHarness h = await GuardHarness.StartAsync(catalog: catalog, time: new ManualTimeProvider(September.AddDays(2)));
        await Spend(h, 1m);

        h.Time.SetUtcNow(September.AddMonths(1).AddDays(1));
        (await Spend(h, 1m)).Status.Should().Be(ReservationStatus.InsufficientCredits, "no allowance is granted after the cancellation");
        (await Grants(h)).Should().ContainSingle();
        h.Gate.Check("acme", "api.calls").Status.Should().Be(EntitlementStatus.NotEntitled);
    }

    [Test]
    public async Task DailyAllowance_AcrossTheAutumnDstChange_StartsAtLocalMidnight()
    {
        CatalogOptions catalog = Catalog(period: UsageWindow.Day);
        catalog.Subscriptions[0].TimeZone = "America/New_York";
        catalog.Subscriptions[0].Start = new DateTimeOffset(2026, 10, 30, 0, 0, 0, TimeSpan.FromHours(-4));

        // Clocks go back at 02:00 on November 1st 2026: that day is 25 hours long.
        var nov1 = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.FromHours(-4));
        var nov2 = new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.FromHours(-5));
        await using GuardHarness h = await GuardHarness.StartAsync(catalog: catalog, time: new ManualTimeProvider(nov1.AddHours(24.5)));
        await Spend(h, 1m);
        h.Time.SetUtcNow(nov2);
        await Spend(h, 1m);

        (await Grants(h)).Select(g => g.Block!.EffectiveAt).Should().Equal(nov1, nov2);
        (nov2 - nov1).Should().Be(TimeSpan.FromHours(25));
    }
}
