using FluentAssertions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests;

/// <summary>Usage meters and rate tiers kept in the ledger: they survive restarts, count in the window that held them, and price tiers exactly.</summary>
public sealed class UsagePersistenceTests
{
    private static readonly DateTimeOffset August = TestCatalogs.Start;

    private static ReservationRequest Calls(long quantity) => new() { CustomerId = "acme", Feature = "api.calls", Quantity = quantity };

    private static async Task<GuardHarness> Start(CatalogOptions catalog, DateTimeOffset now, int snapshotInterval = 0) =>
        await GuardHarness.StartAsync(
            o => o.SnapshotInterval = snapshotInterval > 0 ? snapshotInterval : o.SnapshotInterval,
            time: new ManualTimeProvider(now),
            catalog: catalog);

    private static CatalogOptions Limited(int limit)
    {
        CatalogOptions catalog = TestCatalogs.Basic(apiCallLimit: limit);
        catalog.Subscribe("acme", "starter");
        return catalog;
    }

    /// <summary>A rate whose first 1,000 tokens of a month cost 1,000 credits per million, and every later token 500.</summary>
    private static CatalogOptions Tiered(TierMode mode = TierMode.Graduated)
    {
        CatalogOptions catalog = TestCatalogs.Basic();
        var rate = new ModelRate { Model = "tiered", CreditType = "credits", TierMode = mode };
        rate.Tiers.Add(new RateTier { UpToTokens = 1_000, InputPerMillion = 1_000m, OutputPerMillion = 1_000m });
        rate.Tiers.Add(new RateTier { InputPerMillion = 500m, OutputPerMillion = 500m });
        catalog.Models.Add(rate);
        catalog.Subscribe("acme", "starter");
        return catalog;
    }

    private static ReservationRequest Tokens(long input) => new() { CustomerId = "acme", Model = "tiered", Tokens = new TokenUsage(input, 0, 0, 0) };

    [TestCase(0)]
    [TestCase(3)]
    public async Task MeteredUsage_AfterARestart_GoesOnFromWhatTheWindowCounted(int snapshotInterval)
    {
        // With a snapshot every 3 entries, the usage is restored from the snapshot rather than from replayed entries.
        await using GuardHarness h = await Start(Limited(100), August.AddDays(3), snapshotInterval);
        for (int i = 0; i < 6; i++)
        {
            (await h.Gate.ConsumeAsync(Calls(10))).IsAdmitted.Should().BeTrue();
        }

        await h.RestartAsync();

        h.Gate.Check("acme", "api.calls").Used.Should().Be(60);
        (await h.Gate.ConsumeAsync(Calls(41))).Status.Should().Be(ReservationStatus.LimitReached);
        (await h.Gate.ConsumeAsync(Calls(40))).IsAdmitted.Should().BeTrue();
        (await h.Gate.ConsumeAsync(Calls(1))).Status.Should().Be(ReservationStatus.LimitReached);

        // A later window starts empty, restart or not.
        h.Time.SetUtcNow(August.AddMonths(1));
        await h.RestartAsync();
        h.Gate.Check("acme", "api.calls").Used.Should().Be(0);
    }

    [Test]
    public async Task MeteredUsage_SettledAfterTheBoundary_CountsInTheWindowThatHeldIt()
    {
        await using GuardHarness h = await Start(Limited(100), August.AddMonths(1).AddSeconds(-1));
        ReservationResult held = await h.Gate.ReserveAsync(Calls(30));
        h.Time.SetUtcNow(August.AddMonths(1).AddSeconds(1));
        await h.Gate.SettleAsync(held.Reservation, 0m);

        h.Gate.Check("acme", "api.calls").Used.Should().Be(0, "September has not been used");
        LedgerEntry usage = (await h.EntriesAsync()).Single(e => e.Kind == LedgerEntryKind.Usage);
        usage.Usage!.Value.Should().Be(new MeteredUsage("feature:api.calls", 30, UsageWindow.Month, August, August.AddMonths(1)));
        usage.Amount.Units.Should().Be(0);
        usage.Feature.Should().Be("api.calls");

        await h.RestartAsync();
        h.Gate.Check("acme", "api.calls").Used.Should().Be(0);
        h.Time.SetUtcNow(August.AddDays(20));
        h.Gate.Check("acme", "api.calls").Used.Should().Be(30, "August holds the 30 (a clock set back reads August again)");
    }

    [Test]
    public async Task MeteredUsage_SettledWithLessThanHeld_RestoresWhatWasUsedNotWhatWasHeld()
    {
        await using GuardHarness h = await Start(Limited(100), August.AddDays(3));
        await h.GrantAsync("acme", 1m);
        ReservationResult held = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Feature = "api.calls", Model = "gpt-x", Tokens = new TokenUsage(50, 0, 0, 0) });
        held.IsAdmitted.Should().BeTrue();
        await h.Gate.SettleAsync(held.Reservation, new TokenUsage(20, 0, 0, 0));
        ReservationResult released = await h.Gate.ReserveAsync(Calls(10));
        await h.Gate.ReleaseAsync(released.Reservation);

        await h.RestartAsync();

        h.Gate.Check("acme", "api.calls").Used.Should().Be(20, "the reservation held 50 tokens and used 20; the released one used nothing");
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task MeteredUsage_ManyThreadsAcrossARestart_NeverPassTheLimit(int seed)
    {
        await using GuardHarness h = await Start(Limited(300), August.AddDays(3), snapshotInterval: 7 * seed);
        var random = new Random(seed);
        long admitted = 0;

        async Task Burst(int perThread)
        {
            int[] sizes = Enumerable.Range(0, 16 * perThread).Select(_ => random.Next(1, 5)).ToArray();
            await Parallel.ForAsync(0, 16, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (thread, ct) =>
            {
                for (int i = 0; i < perThread; i++)
                {
                    int size = sizes[(thread * perThread) + i];
                    if ((await h.Gate.ConsumeAsync(Calls(size), ct)).IsAdmitted)
                    {
                        Interlocked.Add(ref admitted, size);
                    }
                }
            });
        }

        // About 200 units first (16 × 5 of 1 to 4), then about 800 offered against the 100 or so left.
        await Burst(5);
        long before = admitted;
        await h.RestartAsync();
        await Burst(20);
        await h.RestartAsync();

        before.Should().BeLessThan(300, "the first burst leaves room, so the second one must be limited by what the first used");
        admitted.Should().BeInRange(297, 300);
        h.Gate.Check("acme", "api.calls").Used.Should().Be(admitted);
    }

    [Test]
    public async Task TieredRate_PlacesEachSettlementOnTheTiersByTheMonthsCount_AcrossARestart()
    {
        await using GuardHarness h = await Start(Tiered(), August.AddDays(3));
        await h.GrantAsync("acme", 10m);

        // 600 tokens at tier 1; then 400 at tier 1 and 200 at tier 2; then, after a restart, 600 at tier 2.
        (await h.Gate.ConsumeAsync(Tokens(600))).Settlement.Charged.ToDecimal().Should().Be(0.6m);
        (await h.Gate.ConsumeAsync(Tokens(600))).Settlement.Charged.ToDecimal().Should().Be(0.5m);
        await h.RestartAsync();
        ReservationResult held = await h.Gate.ReserveAsync(Tokens(600));
        held.Reservation.Held.ToDecimal().Should().Be(0.3m, "the hold is priced on the tier the month's count has reached");
        (await h.Gate.SettleAsync(held.Reservation, new TokenUsage(600, 0, 0, 0))).Charged.ToDecimal().Should().Be(0.3m);

        // September starts at tier 1 again.
        h.Time.SetUtcNow(August.AddMonths(1));
        (await h.Gate.ConsumeAsync(Tokens(600))).Settlement.Charged.ToDecimal().Should().Be(0.6m);

        List<LedgerEntry> usage = (await h.EntriesAsync()).Where(e => e.Kind == LedgerEntryKind.Usage).ToList();
        usage.Select(e => e.Usage!.Value.Meter).Should().AllBe("tokens:tiered");
        usage.Select(e => e.Usage!.Value.Quantity).Should().Equal(600, 600, 600, 600);
        usage.Select(e => e.Usage!.Value.WindowStart).Should().Equal(August, August, August, August.AddMonths(1));
    }

    [Test]
    public async Task VolumeTieredRate_PricesEachRequestWholeAtTheTierTheMonthHasReached()
    {
        await using GuardHarness h = await Start(Tiered(TierMode.Volume), August.AddDays(3));
        await h.GrantAsync("acme", 10m);

        // 600 at tier 1; 600 more, starting at 600, all at tier 1; then, from 1,200, all at tier 2.
        (await h.Gate.ConsumeAsync(Tokens(600))).Settlement.Charged.ToDecimal().Should().Be(0.6m);
        (await h.Gate.ConsumeAsync(Tokens(600))).Settlement.Charged.ToDecimal().Should().Be(0.6m);
        (await h.Gate.ConsumeAsync(Tokens(600))).Settlement.Charged.ToDecimal().Should().Be(0.3m);
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task TieredRate_ManyThreadsSettlingTogether_PayExactlyTheTieredPriceOfTheTotal(int seed)
    {
        await using GuardHarness h = await Start(Tiered(), August.AddDays(3));
        await h.GrantAsync("acme", 100m);
        int threads = 16;
        int perThread = 5 + seed;
        var prices = new System.Collections.Concurrent.ConcurrentBag<decimal>();

        await Parallel.ForAsync(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, async (_, ct) =>
        {
            for (int i = 0; i < perThread; i++)
            {
                // Reserve first, settle after: holds are priced on the tier the count is at, while other settlements move it.
                ReservationResult r = await h.Gate.ReserveAsync(Tokens(100), ct);
                SettlementResult s = await h.Gate.SettleAsync(r.Reservation, new TokenUsage(100, 0, 0, 0), ct);
                s.Charged.Should().Be(s.Actual, "a hold is never priced below the tier its settlement lands on");
                prices.Add(s.Actual.ToDecimal());
            }
        });

        // Each settlement owns the 100 tokens it added to the count: exactly ten pay tier 1 (0.1), every later one tier 2 (0.05).
        int settlements = threads * perThread;
        prices.Count(p => p == 0.1m).Should().Be(10);
        prices.Count(p => p == 0.05m).Should().Be(settlements - 10);
        h.Balance("acme").Should().Be(100m - ((10 * 0.1m) + ((settlements - 10) * 0.05m)));
    }

    [TestCase(false, 100)]
    [TestCase(true, 70)]
    public async Task AllowanceReset_WritesOffDebtUnlessOveragePreserved(bool preserveOverage, int expectedBalance)
    {
        var september = new DateTimeOffset(2026, 9, 1, 0, 0, 0, TimeSpan.Zero);
        CatalogOptions catalog = TestCatalogs.Basic();
        var plan = new PlanOptions { Id = "monthly" };
        plan.Allowances.Add(new AllowanceOptions { Id = "credits", Amount = 100m, CreditType = "credits", Expiry = AllowanceExpiry.PeriodEnd, PreserveOverage = preserveOverage });
        catalog.Plans.Add(plan);
        catalog.Subscriptions.Add(new SubscriptionOptions { Customer = "acme", Plan = "monthly", Start = september });
        await using GuardHarness h = await Start(catalog, september.AddDays(2));

        ReservationResult held = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 100m, OverrunPolicy = SettlementPolicy.Overdraft });
        (await h.Gate.SettleAsync(held.Reservation, 130m)).Overdrawn.ToDecimal().Should().Be(30m);
        h.Balance("acme").Should().Be(-30m);

        h.Time.SetUtcNow(september.AddMonths(1).AddHours(1));
        (await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 0.000001m })).IsAdmitted.Should().BeTrue();
        h.Balance("acme").Should().Be(expectedBalance - 0.000001m);

        await h.RestartAsync();
        h.Balance("acme").Should().Be(expectedBalance - 0.000001m, "the write-off is in the ledger and happens once");
        List<LedgerEntry> writeOffs = (await h.EntriesAsync()).Where(e => e.Kind == LedgerEntryKind.OverdraftWriteOff).ToList();
        if (preserveOverage)
        {
            writeOffs.Should().BeEmpty();
        }
        else
        {
            writeOffs.Should().ContainSingle();
            writeOffs[0].Amount.ToDecimal().Should().Be(30m);
            writeOffs[0].BlockId.Should().BeNull();
            writeOffs[0].Reason.Should().Contain("'monthly' allowance 'credits'").And.Contain("without preserving overage");
            writeOffs[0].CatalogVersion.Should().Be(h.Guard.Catalog!.Current.Id);
        }

        (await h.Ledger.VerifyAsync()).IsValid.Should().BeTrue();
    }

    [Test]
    public async Task Entries_CarryTheCatalogVersionThatPricedOrGrantedThem()
    {
        CatalogOptions catalog = Tiered();
        catalog.Plans[0].Allowances.Add(new AllowanceOptions { Id = "monthly", Amount = 5m, CreditType = "credits", Expiry = AllowanceExpiry.PeriodEnd });
        await using GuardHarness h = await Start(catalog, August.AddDays(3));
        string first = h.Guard.Catalog!.Current.Id;
        await h.Gate.ConsumeAsync(Tokens(100));

        catalog.Revision = "second";
        h.Catalog!.Change(catalog);
        string second = h.Guard.Catalog.Current.Id;
        second.Should().NotBe(first);
        await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Feature = "api.calls", Quantity = 2 });
        await h.GrantAsync("acme", 1m);
        await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 0.5m, CreditType = "credits" });

        List<LedgerEntry> entries = (await h.EntriesAsync()).ToList();
        entries.Single(e => e.Kind == LedgerEntryKind.Grant && e.Block!.Metadata.ContainsKey("allowance")).CatalogVersion.Should().Be(first);
        entries.Where(e => e.Model == "tiered").Should().HaveCount(2).And.OnlyContain(e => e.CatalogVersion == first);
        entries.Single(e => e.Feature == "api.calls").CatalogVersion.Should().Be(second);
        entries.Where(e => e.Kind == LedgerEntryKind.Settle && e.Feature is null && e.Model is null)
            .Should().NotBeEmpty().And.OnlyContain(e => e.CatalogVersion == second, "a catalog is registered, so every reservation is decided under one");
        entries.Single(e => e.Kind == LedgerEntryKind.Grant && !e.Block!.Metadata.ContainsKey("allowance")).CatalogVersion.Should().BeNull("a grant through the ledger API is not the catalog's");
    }
}
