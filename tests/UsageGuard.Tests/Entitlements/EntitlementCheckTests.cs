using FluentAssertions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests;

public sealed class EntitlementCheckTests
{
    private static async Task<GuardHarness> Start(CatalogOptions catalog, DateTimeOffset? now = null) =>
        await GuardHarness.StartAsync(catalog: catalog, time: new ManualTimeProvider(now ?? TestCatalogs.Start.AddDays(3)));

    [Test]
    public async Task Check_FeatureOfThePlan_IsGrantedWithItsSource()
    {
        CatalogOptions catalog = TestCatalogs.Basic();
        catalog.Subscribe("acme", "pro");
        await using GuardHarness h = await Start(catalog);

        EntitlementDecision sso = h.Gate.Check("acme", "sso");

        sso.HasAccess.Should().BeTrue();
        sso.Status.Should().Be(EntitlementStatus.Granted);
        sso.Source.Should().Be(EntitlementSource.Plan);
        sso.Reason.Should().BeNull();
        sso.CatalogVersion.Should().HaveLength(16);
    }

    [Test]
    public async Task Check_FeatureNotInThePlan_IsNotEntitledWithAReason()
    {
        CatalogOptions catalog = TestCatalogs.Basic();
        catalog.Subscribe("acme", "starter");
        await using GuardHarness h = await Start(catalog);

        EntitlementDecision sso = h.Gate.Check("acme", "sso");

        sso.HasAccess.Should().BeFalse();
        sso.Status.Should().Be(EntitlementStatus.NotEntitled);
        sso.Reason.Should().Contain("do not give the feature");
    }

    [Test]
    public async Task Check_CustomerWithoutSubscription_IsNotEntitled()
    {
        await using GuardHarness h = await Start(TestCatalogs.Basic());

        EntitlementDecision decision = h.Gate.Check("stranger", "sso");

        decision.Status.Should().Be(EntitlementStatus.NotEntitled);
        decision.Reason.Should().Contain("no subscription");
    }

    [Test]
    public async Task Check_BeforeTheSubscriptionStartsAndAfterItIsCanceled_IsNotEntitled()
    {
        CatalogOptions catalog = TestCatalogs.Basic();
        catalog.Subscribe("acme", "pro").CanceledAt = TestCatalogs.Start.AddDays(10);
        await using GuardHarness h = await Start(catalog, TestCatalogs.Start.AddTicks(-1));

        h.Gate.Check("acme", "sso").HasAccess.Should().BeFalse("the subscription has not started");
        h.Time.SetUtcNow(TestCatalogs.Start);
        h.Gate.Check("acme", "sso").HasAccess.Should().BeTrue("it starts exactly at Start");
        h.Time.SetUtcNow(TestCatalogs.Start.AddDays(10).AddTicks(-1));
        h.Gate.Check("acme", "sso").HasAccess.Should().BeTrue();
        h.Time.SetUtcNow(TestCatalogs.Start.AddDays(10));
        h.Gate.Check("acme", "sso").Status.Should().Be(EntitlementStatus.NotEntitled, "the cancellation takes effect exactly at CanceledAt");
    }

    [TestCase(UnknownPolicy.Deny, EntitlementStatus.UnknownFeature)]
    [TestCase(UnknownPolicy.Allow, EntitlementStatus.Granted)]
    public async Task Check_UnknownFeature_FollowsThePolicy(UnknownPolicy policy, EntitlementStatus expected)
    {
        CatalogOptions catalog = TestCatalogs.Basic();
        catalog.UnknownFeatures = policy;
        catalog.Subscribe("acme", "pro");
        await using GuardHarness h = await Start(catalog);

        EntitlementDecision decision = h.Gate.Check("acme", "no.such.feature");

        decision.Status.Should().Be(expected);
        decision.Source.Should().Be(policy == UnknownPolicy.Allow ? EntitlementSource.UnknownAllowed : EntitlementSource.None);
    }

    [Test]
    public async Task Check_ConfigValue_FollowsOverrideThenAddOnThenPlan()
    {
        CatalogOptions catalog = TestCatalogs.Basic();
        catalog.Subscribe("plain", "starter");
        catalog.Subscribe("addon", "starter", "UTC", "exports");
        catalog.Subscribe("vip", "starter", "UTC", "exports");
        catalog.Overrides.Add(new CustomerOverrideOptions
        {
            Customer = "vip",
            From = TestCatalogs.Start.AddDays(2),
            Until = TestCatalogs.Start.AddDays(5),
            Entitlement = new EntitlementOptions { Feature = "retention", Value = "365" },
        });
        await using GuardHarness h = await Start(catalog);

        h.Gate.Check("plain", "retention").Value.Should().Be("7");
        h.Gate.Check("addon", "retention").Should().Match<EntitlementDecision>(d => d.Value == "30" && d.Source == EntitlementSource.AddOn);
        h.Gate.Check("vip", "retention").Should().Match<EntitlementDecision>(d => d.Value == "365" && d.Source == EntitlementSource.Override);

        h.Time.SetUtcNow(TestCatalogs.Start.AddDays(5));
        h.Gate.Check("vip", "retention").Value.Should().Be("30", "the override ends at Until (exclusive)");
    }

    [Test]
    public async Task Check_MeteredFeature_ReportsLimitUsageAndTheWindowEndInTheCustomersZone()
    {
        CatalogOptions catalog = TestCatalogs.Basic(apiCallLimit: 100);
        catalog.Subscribe("acme", "starter", "America/New_York");
        await using GuardHarness h = await Start(catalog, new DateTimeOffset(2026, 8, 20, 12, 0, 0, TimeSpan.Zero));

        (await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Feature = "api.calls", Quantity = 30 })).IsAdmitted.Should().BeTrue();
        EntitlementDecision decision = h.Gate.Check("acme", "api.calls");

        decision.Kind.Should().Be(FeatureKind.Metered);
        decision.Limit.Should().Be(100);
        decision.Used.Should().Be(30);
        decision.Held.Should().Be(30);
        decision.Remaining.Should().Be(70);

        // Anchored on the subscription start, the 1st at 00:00 UTC, which is July 31st in New York: monthly windows start at
        // local midnight on the 31st (or the month's last day), not on the 1st as in UTC.
        decision.ResetsAt.Should().Be(new DateTimeOffset(2026, 8, 31, 0, 0, 0, TimeSpan.FromHours(-4)));
        h.Gate.Check("acme", "api.calls", requested: 70).HasAccess.Should().BeTrue();
        h.Gate.Check("acme", "api.calls", requested: 71).Status.Should().Be(EntitlementStatus.LimitReached);
    }

    [Test]
    public async Task Check_MeteredFeaturePerMinute_ResetsAtTheTopOfTheNextMinute()
    {
        CatalogOptions catalog = TestCatalogs.Basic(apiCallLimit: 5);
        catalog.Plans.Single(p => p.Id == "starter").Entitlements.Single(e => e.Feature == "api.calls").Window = UsageWindow.Minute;
        catalog.Subscribe("acme", "starter", "Asia/Kathmandu");
        var now = new DateTimeOffset(2026, 8, 20, 12, 0, 30, TimeSpan.Zero);
        await using GuardHarness h = await Start(catalog, now);

        (await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Feature = "api.calls", Quantity = 5 })).IsAdmitted.Should().BeTrue();
        EntitlementDecision decision = h.Gate.Check("acme", "api.calls");

        decision.Remaining.Should().Be(0);
        decision.ResetsAt.Should().Be(now.AddSeconds(30), "a +05:45 zone's minutes start with UTC's");
        h.Time.SetUtcNow(now.AddSeconds(30).AddTicks(-1));
        h.Gate.Check("acme", "api.calls", requested: 1).Status.Should().Be(EntitlementStatus.LimitReached);
        h.Time.SetUtcNow(now.AddSeconds(30));
        h.Gate.Check("acme", "api.calls", requested: 5).HasAccess.Should().BeTrue();
        h.Gate.Check("acme", "api.calls").Used.Should().Be(0);
    }

    [Test]
    public async Task Check_HoldsNothing()
    {
        CatalogOptions catalog = TestCatalogs.Basic(apiCallLimit: 5);
        catalog.Subscribe("acme", "starter");
        await using GuardHarness h = await Start(catalog);

        for (int i = 0; i < 20; i++)
        {
            h.Gate.Check("acme", "api.calls", requested: 5).HasAccess.Should().BeTrue();
        }

        h.Gate.Check("acme", "api.calls").Used.Should().Be(0);
    }

    [Test]
    public async Task Check_BadArguments_Throw()
    {
        await using GuardHarness h = await Start(TestCatalogs.Basic());

        FluentActions.Invoking(() => h.Gate.Check("", "sso")).Should().Throw<ArgumentException>().WithParameterName("customerId");
        FluentActions.Invoking(() => h.Gate.Check("acme", null!)).Should().Throw<ArgumentException>().WithParameterName("featureId");
        FluentActions.Invoking(() => h.Gate.Check("acme", "sso", -1)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("requested");
    }

    [Test]
    public async Task Check_WithoutACatalog_ThrowsNamingTheFix()
    {
        await using GuardHarness h = await GuardHarness.StartAsync();

        FluentActions.Invoking(() => h.Gate.Check("acme", "sso")).Should().Throw<InvalidOperationException>().WithMessage("*UseCatalog*");
    }
}
