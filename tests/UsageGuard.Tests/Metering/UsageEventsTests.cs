using FluentAssertions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests.Metering;

/// <summary>Usage events: one per settlement, made from the ledger, with full attribution, the blocks that paid, price and vendor cost.</summary>
[TestFixture]
public sealed class UsageEventsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private static async Task<GuardHarness> Start()
    {
        var catalog = new CatalogOptions { UnknownFeatures = UnknownPolicy.Allow };
        catalog.Models.Add(new ModelRate
        {
            Model = "m",
            CreditType = "credits",
            InputPerMillion = 1m,
            OutputPerMillion = 2m,
            CostBasis = new VendorCost { Currency = "USD", InputPerMillion = 0.5m, OutputPerMillion = 1m },
        });
        catalog.Models.Add(new ModelRate
        {
            Model = "m-mini",
            CreditType = "credits",
            InputPerMillion = 0.1m,
            OutputPerMillion = 0.2m,
            CostBasis = new VendorCost { Currency = "USD", InputPerMillion = 0.05m, OutputPerMillion = 0.1m },
        });
        CustomerGovernanceOptions acme = GovernanceTests.Acme();
        var governance = new GovernanceOptions();
        governance.Customers.Add(acme);
        GuardHarness h = await GuardHarness.StartAsync(time: new ManualTimeProvider(T0), catalog: catalog, governance: governance);
        await h.Ledger.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 0.0015m, Priority = 0, CostBasis = 2m });
        await h.Ledger.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 10m, Priority = 5, CostBasis = 1m });
        return h;
    }

    private static async Task<List<UsageEvent>> Events(GuardHarness h, long after = 0)
    {
        await h.Ledger.FlushAsync();
        return await UsageEvents.ReadAsync(h.Store, after).ToListAsync();
    }

    [Test]
    public async Task TokenSettlement_AcrossTwoBlocks_IsOneEvent_WithAttributionBlocksPriceAndVendorCost()
    {
        await using GuardHarness h = await Start();
        ReservationResult r = await h.Gate.ReserveAsync(new ReservationRequest
        {
            CustomerId = "acme", Subject = "agent:a", Feature = "chat", Model = "m", SessionId = "s1", RequestId = "req-1",
            Tokens = new TokenUsage(1_000, 0, 1_000, 0),
        });
        r.IsAdmitted.Should().BeTrue(r.Reason);
        h.Time.Advance(TimeSpan.FromSeconds(3));
        await h.Gate.SettleAsync(r.Reservation, new TokenSettlement(new TokenUsage(500, 100, 600, 50)) { Estimated = true });

        UsageEvent e = (await Events(h)).Should().ContainSingle().Subject;
        e.CustomerId.Should().Be("acme");
        e.CreditType.Should().Be("credits");
        e.Subject.Should().Be("agent:a");
        e.SubjectPath.Should().Be("org/eng/search/agent:a", "the tree gives the ancestors of a node named by its id alone");
        e.Feature.Should().Be("chat");
        e.Model.Should().Be("m");
        e.AnsweredModel.Should().BeNull();
        e.SessionId.Should().Be("s1");
        e.RequestId.Should().Be("req-1");
        e.ReservationId.Should().Be(r.Reservation.Id);
        e.CatalogVersion.Should().NotBeNullOrEmpty();
        e.AdmittedAt.Should().Be(T0);
        e.Timestamp.Should().Be(T0.AddSeconds(3));
        e.Tokens.Should().Be(new TokenUsage(500, 100, 600, 50));
        e.Estimated.Should().BeTrue();

        // 500 + 100 input at 1/M, 600 + 50 output at 2/M: 0.0006 + 0.0013 = 0.0019 credits.
        e.Charged.Should().Be(CreditAmount.FromDecimal(0.0019m, 6));
        e.Consumed.Should().Be(e.Charged);
        e.Blocks.Should().HaveCount(2, "the first block held 0.0015, the second paid the rest");
        e.Blocks.Select(b => b.Amount.ToDecimal()).Should().Equal(0.0015m, 0.0004m);
        e.Blocks.Sum(b => b.Amount.Units).Should().Be(e.Charged.Units);
        e.Price.Should().Be((0.0015m * 2m) + (0.0004m * 1m), "each block's credits at its own cost basis");
        e.VendorCost.Should().Be((600m * 0.5m / 1_000_000m) + (650m * 1m / 1_000_000m));
        e.CostCurrency.Should().Be("USD");
        e.Id.Should().Be((await h.EntriesAsync()).Single(x => x.Settlement is not null).Hash.ToString());
        (await h.Ledger.VerifyAsync()).IsValid.Should().BeTrue();
    }

    [Test]
    public async Task EverySettlement_IsExactlyOneEvent_IncludingOnesThatChargedNothing_AndIdsAreStableAcrossReads()
    {
        await using GuardHarness h = await Start();
        ReservationResult zero = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m, Subject = "nobody" });
        await zero.Reservation.SettleAsync(0m);
        ReservationResult released = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m });
        await released.Reservation.ReleaseAsync();
        ConsumeResult consumed = await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 2m, Subject = "sales" });
        consumed.IsAdmitted.Should().BeTrue();
        ReservationResult answered = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Model = "m", Tokens = new TokenUsage(10, 0, 10, 0) });
        await h.Gate.SettleAsync(answered.Reservation, new TokenSettlement(new TokenUsage(10, 0, 10, 0)) { Model = "m-mini" });

        List<UsageEvent> events = await Events(h);
        events.Should().HaveCount(3, "three settlements (the consumption is one); a release is not a settlement");
        events[0].Charged.Units.Should().Be(0);
        events[0].Blocks.Should().BeEmpty();
        events[0].SubjectPath.Should().Be("nobody", "a subject that is not a node of the tree is kept as given");
        events[0].Price.Should().BeNull();
        (await h.EntriesAsync()).Should().Contain(x => x.Kind == LedgerEntryKind.Settled && x.Amount.Units == 0 && x.Settlement != null);
        events[1].SubjectPath.Should().Be("org/sales");
        events[1].Charged.ToDecimal().Should().Be(2m);
        events[1].Tokens.Should().BeNull("settled with an amount");
        events[2].AnsweredModel.Should().Be("m-mini");
        events[2].Model.Should().Be("m");
        events[2].VendorCost.Should().Be(0.0000015m, "the model that answered costs 10 × 0.05 + 10 × 0.1 per million, not the requested model's 10 × 0.5 + 10 × 1");
        events.Select(e => e.Id).Should().OnlyHaveUniqueItems();

        (await Events(h)).Select(e => e.Id).Should().Equal(events.Select(e => e.Id), "reading the ledger again makes the same events");
        (await Events(h, events[0].Sequence)).Select(e => e.Id).Should().Equal(events.Skip(1).Select(e => e.Id), "a cursor resumes after an event");
        await h.RestartAsync();
        (await Events(h)).Select(e => e.Id).Should().Equal(events.Select(e => e.Id), "a restart replays the Settled entry");
    }

    [Test]
    public async Task OverdraftSettlement_KeepsAllItsEntriesTogether_SoTheEventNamesEveryBlockAndTheDebt()
    {
        await using GuardHarness h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 1m, priority: 0);
        await h.GrantAsync("acme", 1m, priority: 1);
        ReservationResult r = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 0.5m, OverrunPolicy = SettlementPolicy.Overdraft });
        await r.Reservation.SettleAsync(3m);

        UsageEvent e = (await Events(h)).Should().ContainSingle().Subject;
        e.Charged.ToDecimal().Should().Be(2m);
        e.Overdrawn.ToDecimal().Should().Be(1m);
        e.Consumed.ToDecimal().Should().Be(3m);
        e.Blocks.Sum(b => b.Amount.ToDecimal()).Should().Be(2m, "the hold's block and the block the overrun took are both named");
        List<LedgerEntry> entries = [.. (await h.EntriesAsync()).Where(x => x.ReservationId == r.Reservation.Id)];
        entries.Select(x => x.Sequence).Should().BeInAscendingOrder().And.Subject.Last().Should().Be(entries[0].Sequence + entries.Count - 1, "consecutive");
        entries[^1].Settlement.Should().NotBeNull();
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task ManyThreads_SettlingOverruns_EveryEventNamesExactlyTheBlocksThatPaidIt(int seed)
    {
        const int Threads = 8;
        const int PerThread = 150;
        await using GuardHarness h = await GuardHarness.StartAsync();
        for (int t = 0; t < Threads; t++)
        {
            // Small blocks, so that an overrun takes more blocks than the hold did.
            for (int b = 0; b < 100; b++)
            {
                await h.GrantAsync($"c{t}", 3m, priority: b);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Threads).Select(t => Task.Run(async () =>
        {
            var random = new Random((seed * 100) + t);
            for (int i = 0; i < PerThread; i++)
            {
                ReservationResult r = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = $"c{t}", Amount = 0.1m, OverrunPolicy = SettlementPolicy.Overdraft });
                r.IsAdmitted.Should().BeTrue(r.Reason);
                await r.Reservation.SettleAsync(random.Next(0, 300) / 100m);
            }
        })));

        List<UsageEvent> events = await Events(h);
        events.Should().HaveCount(Threads * PerThread);
        events.Should().OnlyContain(e => e.Blocks.Sum(b => b.Amount.Units) == e.Charged.Units);
        foreach (IGrouping<string, UsageEvent> customer in events.GroupBy(e => e.CustomerId))
        {
            long spent = (await h.EntriesAsync()).Where(x => x.CustomerId == customer.Key && x.Kind is LedgerEntryKind.Settle or LedgerEntryKind.Overdraft).Sum(x => -x.Amount.Units);
            customer.Sum(e => e.Consumed.Units).Should().Be(spent, "the events account for every credit settled");
        }
    }
}
