using FluentAssertions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests;

public sealed class MeteredReservationTests
{
    private static async Task<GuardHarness> Start(CatalogOptions catalog, DateTimeOffset? now = null) =>
        await GuardHarness.StartAsync(catalog: catalog, time: new ManualTimeProvider(now ?? TestCatalogs.Start.AddDays(3)));

    private static ReservationRequest Calls(string customer, long quantity = 1, decimal amount = 0) =>
        new() { CustomerId = customer, Feature = "api.calls", Quantity = quantity, Amount = amount };

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task Reserve_ManyThreadsAgainstAHardLimit_AdmitExactlyTheLimit(int seed)
    {
        CatalogOptions catalog = TestCatalogs.Basic(apiCallLimit: 100);
        catalog.Subscribe("acme", "starter");
        await using GuardHarness h = await Start(catalog);
        int admitted = 0;
        int limited = 0;
        var random = new Random(seed);
        int[] sizes = Enumerable.Range(0, 16 * 40).Select(_ => random.Next(1, 4)).ToArray();
        long admittedUnits = 0;

        await Parallel.ForAsync(0, 16, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (thread, ct) =>
        {
            for (int i = 0; i < 40; i++)
            {
                int size = sizes[(thread * 40) + i];
                ReservationResult r = await h.Gate.ReserveAsync(Calls("acme", size), ct);
                if (r.IsAdmitted)
                {
                    Interlocked.Increment(ref admitted);
                    Interlocked.Add(ref admittedUnits, size);
                    await h.Gate.SettleAsync(r.Reservation, 0m, ct);
                }
                else
                {
                    r.Status.Should().Be(ReservationStatus.LimitReached);
                    r.Scope.Should().Be("feature:api.calls");
                    Interlocked.Increment(ref limited);
                }
            }
        });

        // Sizes 1 to 3 against 100: the window fills to at least 98, and never past 100.
        admittedUnits.Should().BeInRange(98, 100);
        h.Gate.Check("acme", "api.calls").Used.Should().Be(admittedUnits);
        h.Gate.Check("acme", "api.calls").Held.Should().Be(0);
        (admitted + limited).Should().Be(16 * 40);
    }

    [Test]
    public async Task Reserve_WalletShortOfCredits_LeavesNothingHeldInTheWindow()
    {
        CatalogOptions catalog = TestCatalogs.Basic(apiCallLimit: 1_000);
        catalog.Subscribe("acme", "starter");
        await using GuardHarness h = await Start(catalog);
        await h.GrantAsync("acme", 60m);
        int admitted = 0;

        await Parallel.ForAsync(0, 8, async (_, ct) =>
        {
            for (int i = 0; i < 20; i++)
            {
                ReservationResult r = await h.Gate.ReserveAsync(Calls("acme", 1, amount: 1m), ct);
                if (r.IsAdmitted)
                {
                    Interlocked.Increment(ref admitted);
                }
                else
                {
                    r.Status.Should().Be(ReservationStatus.InsufficientCredits);
                }
            }
        });

        admitted.Should().Be(60);
        h.Gate.Check("acme", "api.calls").Used.Should().Be(60, "a request the wallet refused holds nothing in the feature's window (all or nothing)");
    }

    [Test]
    public async Task Reserve_NotEntitledOrUnknownFeature_IsDeniedWithoutHoldingCredits()
    {
        CatalogOptions catalog = TestCatalogs.Basic();
        catalog.Subscribe("acme", "starter");
        await using GuardHarness h = await Start(catalog);
        await h.GrantAsync("acme", 10m);

        ReservationResult sso = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Feature = "sso", Amount = 1m });
        ReservationResult unknown = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Feature = "nope", Amount = 1m });

        sso.Status.Should().Be(ReservationStatus.NotEntitled);
        sso.Scope.Should().Be("feature:sso");
        unknown.Status.Should().Be(ReservationStatus.UnknownFeature);
        h.Available("acme").Should().Be(10m);
    }

    [Test]
    public async Task Reserve_ReleasedOrExpired_GivesTheUnitsBack()
    {
        CatalogOptions catalog = TestCatalogs.Basic(apiCallLimit: 10);
        catalog.Subscribe("acme", "starter");
        await using GuardHarness h = await Start(catalog);

        ReservationResult a = await h.Gate.ReserveAsync(Calls("acme", 6));
        (await h.Gate.ReserveAsync(Calls("acme", 5))).Status.Should().Be(ReservationStatus.LimitReached);
        await h.Gate.ReleaseAsync(a.Reservation);
        ReservationResult b = await h.Gate.ReserveAsync(Calls("acme", 10) with { Ttl = TimeSpan.FromSeconds(5) });
        b.IsAdmitted.Should().BeTrue();

        h.Time.Advance(TimeSpan.FromSeconds(6));
        h.Guard.SweepReservations();

        h.Gate.Check("acme", "api.calls").Used.Should().Be(0, "the expired hold went back to the window");
    }

    [Test]
    public async Task Reserve_DailyWindow_ResetsExactlyAtTheBoundaryInTheCustomersZone()
    {
        CatalogOptions catalog = TestCatalogs.Basic();
        catalog.Subscribe("acme", "starter", "Europe/Berlin");
        // 23:59:59.9999999 in Berlin (UTC+2 in August) on August 10th.
        DateTimeOffset lastTick = new DateTimeOffset(2026, 8, 11, 0, 0, 0, TimeSpan.FromHours(2)).AddTicks(-1);
        await using GuardHarness h = await Start(catalog, lastTick.AddHours(-1));
        await h.GrantAsync("acme", 100m);
        var images = new ReservationRequest { CustomerId = "acme", Feature = "images", Quantity = 10 };

        (await h.Gate.ReserveAsync(images)).IsAdmitted.Should().BeTrue();
        h.Time.SetUtcNow(lastTick);
        (await h.Gate.ReserveAsync(images with { Quantity = 1 })).Status.Should().Be(ReservationStatus.LimitReached);
        h.Time.Advance(TimeSpan.FromTicks(1));
        (await h.Gate.ReserveAsync(images)).IsAdmitted.Should().BeTrue("the daily window starts anew at local midnight");
    }

    [Test]
    public async Task Reserve_FeaturePricedPerUnit_HoldsQuantityTimesPrice()
    {
        CatalogOptions catalog = TestCatalogs.Basic();
        catalog.Subscribe("acme", "starter");
        await using GuardHarness h = await Start(catalog);
        await h.GrantAsync("acme", 10m);

        ReservationResult r = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Feature = "images", Quantity = 3 });

        r.Reservation.Held.ToDecimal().Should().Be(1.5m);
        SettlementResult settled = await h.Gate.SettleAsync(r.Reservation, 1.5m);
        settled.Charged.ToDecimal().Should().Be(1.5m);
        h.Balance("acme").Should().Be(8.5m);
    }

    [Test]
    public async Task Reserve_SoftLimit_AdmitsOverageUpToTheCapAndPricesItAsItHappens()
    {
        CatalogOptions catalog = TestCatalogs.Basic(apiCallLimit: 10, enforcement: LimitEnforcement.Soft, overageCap: 5, overageRate: 0.25m);
        catalog.Subscribe("acme", "starter");
        await using GuardHarness h = await Start(catalog);
        await h.GrantAsync("acme", 100m);

        ReservationResult within = await h.Gate.ReserveAsync(Calls("acme", 8));
        ReservationResult crossing = await h.Gate.ReserveAsync(Calls("acme", 4));
        ReservationResult pastCap = await h.Gate.ReserveAsync(Calls("acme", 4));
        ReservationResult toCap = await h.Gate.ReserveAsync(Calls("acme", 3));

        within.Reservation.Held.ToDecimal().Should().Be(0m, "use within the limit is not priced");
        crossing.Reservation.Held.ToDecimal().Should().Be(0.5m, "2 of its 4 units are above the limit, at 0.25 each");
        pastCap.Status.Should().Be(ReservationStatus.LimitReached, "12 + 4 passes the limit of 10 plus the cap of 5");
        toCap.Reservation.Held.ToDecimal().Should().Be(0.75m);
        EntitlementDecision decision = h.Gate.Check("acme", "api.calls");
        decision.IsSoftLimit.Should().BeTrue();
        decision.Used.Should().Be(15);
        decision.Remaining.Should().Be(0);
        (await h.Gate.SettleAsync(crossing.Reservation, 0.5m)).Charged.ToDecimal().Should().Be(0.5m);
    }
}
