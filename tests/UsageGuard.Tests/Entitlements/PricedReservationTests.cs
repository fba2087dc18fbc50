using FluentAssertions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests;

public sealed class PricedReservationTests
{
    private static readonly TokenUsage Estimate = new(InputTokens: 1_000, CachedInputTokens: 0, OutputTokens: 500, ReasoningTokens: 0);

    private static async Task<GuardHarness> Start(CatalogOptions catalog)
    {
        catalog.Subscribe("acme", "pro");
        GuardHarness h = await GuardHarness.StartAsync(catalog: catalog, time: new ManualTimeProvider(TestCatalogs.Start.AddDays(3)));
        await h.GrantAsync("acme", 100m);
        return h;
    }

    private static ReservationRequest Chat(string model, TokenUsage tokens) => new() { CustomerId = "acme", Model = model, Tokens = tokens };

    [Test]
    public async Task Reserve_WithTokens_IsPricedFromTheRateCardAndSettledWithTheSameRate()
    {
        await using GuardHarness h = await Start(TestCatalogs.Basic(ratePerMillion: 2m));

        ReservationResult r = await h.Gate.ReserveAsync(Chat("gpt-x", Estimate));
        SettlementResult settled = await h.Gate.SettleAsync(r.Reservation, new TokenUsage(1_000, 0, 123, 0));

        // 1,000 × 2 / 1M + 500 × 8 / 1M = 0.006; the actual 123 output tokens cost 0.000984, so 0.002984 in all.
        r.Reservation.Held.ToDecimal().Should().Be(0.006m);
        settled.Charged.ToDecimal().Should().Be(0.002984m);
        settled.Released.ToDecimal().Should().Be(0.003016m);
        settled.CatalogVersion.Should().Be(h.Guard.Catalog!.Current.Id);
        h.Balance("acme").Should().Be(100m - 0.002984m);
    }

    [Test]
    public async Task Settle_AnsweredByAnotherModel_IsPricedWithThatModelsRate_AndUnknownModelsFallBackToTheReservationsRate()
    {
        CatalogOptions catalog = TestCatalogs.Basic(ratePerMillion: 2m);
        catalog.Models.Add(new ModelRate { Model = "gpt-x-2026*", CreditType = "credits", InputPerMillion = 1m, OutputPerMillion = 1m });
        await using GuardHarness h = await Start(catalog);
        var used = new TokenUsage(1_000, 0, 1_000, 0);

        ReservationResult dated = await h.Gate.ReserveAsync(Chat("gpt-x", Estimate));
        SettlementResult byAnswer = await h.Gate.SettleAsync(dated.Reservation, new TokenSettlement(used) { Model = "gpt-x-2026-01-01" });
        ReservationResult unknown = await h.Gate.ReserveAsync(Chat("gpt-x", Estimate));
        SettlementResult byRequest = await h.Gate.SettleAsync(unknown.Reservation, new TokenSettlement(used) { Model = "not-in-the-card" });

        byAnswer.Actual.ToDecimal().Should().Be(0.002m, "2,000 tokens at 1 per million, the answering model's rate");
        byRequest.Actual.ToDecimal().Should().Be(0.010m, "1,000 at 2 and 1,000 at 8 per million, the requested model's rate");
        (await h.EntriesAsync()).Where(e => e.Kind == LedgerEntryKind.Settle).Should().OnlyContain(e => e.Model == "gpt-x" && e.Reason == null);
    }

    [Test]
    public async Task Settle_Estimated_ChargesTheEstimateAndMarksTheEntries()
    {
        await using GuardHarness h = await Start(TestCatalogs.Basic(ratePerMillion: 2m));
        ReservationResult r = await h.Gate.ReserveAsync(Chat("gpt-x", Estimate));

        SettlementResult settled = await h.Gate.SettleAsync(r.Reservation, new TokenSettlement(Estimate) { Estimated = true });
        Func<Task> emptyModel = async () =>
        {
            ReservationResult other = await h.Gate.ReserveAsync(Chat("gpt-x", Estimate));
            await h.Gate.SettleAsync(other.Reservation, new TokenSettlement(Estimate) { Model = "" });
        };

        settled.Charged.ToDecimal().Should().Be(0.006m);
        (await h.EntriesAsync()).Should().ContainSingle(e => e.Kind == LedgerEntryKind.Settle).Which.Reason.Should().Be(TokenSettlement.EstimatedReason);
        (await emptyModel.Should().ThrowAsync<ArgumentException>()).Which.ParamName.Should().Be("settlement");
    }

    [Test]
    public async Task Settle_NegativeTokenCount_ThrowsNamingItAndLeavesTheReservationActive()
    {
        await using GuardHarness h = await Start(TestCatalogs.Basic(ratePerMillion: 2m));
        ReservationResult r = await h.Gate.ReserveAsync(Chat("gpt-x", Estimate));

        Func<Task> negative = () => h.Gate.SettleAsync(r.Reservation, new TokenUsage(10, 0, -1, 0)).AsTask();

        (await negative.Should().ThrowAsync<ArgumentOutOfRangeException>()).Which.ParamName.Should().Be(nameof(TokenUsage.OutputTokens));
        h.Available("acme").Should().Be(100m - 0.006m, "the hold is still in place");
        (await h.Gate.SettleAsync(r.Reservation, new TokenUsage(1_000, 0, 0, 0))).Charged.ToDecimal().Should().Be(0.002m);
    }

    [Test]
    public async Task Reserve_WildcardFamilyAndContractRate_AreUsed()
    {
        CatalogOptions catalog = TestCatalogs.Basic();
        var contract = new CustomerRatesOptions { Customer = "acme" };
        contract.Models.Add(new ModelRate { Model = "claude-*", CreditType = "credits", InputPerMillion = 1m, OutputPerMillion = 1m });
        catalog.ContractRates.Add(contract);
        await using GuardHarness h = await Start(catalog);

        ReservationResult r = await h.Gate.ReserveAsync(Chat("claude-sonnet-5", Estimate));

        r.Reservation.Held.ToDecimal().Should().Be(0.0015m, "the contract's 1 per million wins over the catalog's 3 and 15");
    }

    [Test]
    public async Task Reserve_ModelWithoutRate_IsDeniedNeverPricedAtZero()
    {
        CatalogOptions catalog = TestCatalogs.Basic();
        await using GuardHarness h = await Start(catalog);

        ReservationResult tokens = await h.Gate.ReserveAsync(Chat("mystery-1", Estimate));
        ReservationResult prePriced = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Model = "mystery-1", Amount = 1m });

        tokens.Status.Should().Be(ReservationStatus.UnknownModel);
        prePriced.Status.Should().Be(ReservationStatus.UnknownModel, "the default policy denies a model without a rate");
        h.Available("acme").Should().Be(100m);
    }

    [Test]
    public async Task Reserve_ModelWithoutRateAndAllowPolicy_AdmitsOnlyAPrePricedAmount()
    {
        CatalogOptions catalog = TestCatalogs.Basic();
        catalog.UnknownModels = UnknownPolicy.Allow;
        await using GuardHarness h = await Start(catalog);

        (await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Model = "mystery-1", Amount = 1m })).IsAdmitted.Should().BeTrue();
        (await h.Gate.ReserveAsync(Chat("mystery-1", Estimate))).Status.Should().Be(ReservationStatus.UnknownModel, "tokens without a rate have no price");
    }

    [Test]
    public async Task Reserve_BadPricingInput_ThrowsNamingIt()
    {
        await using GuardHarness h = await Start(TestCatalogs.Basic());

        await FluentActions.Awaiting(() => h.Gate.ReserveAsync(Chat("gpt-x", Estimate) with { Amount = 1m }).AsTask())
            .Should().ThrowAsync<ArgumentException>().WithParameterName("Tokens");
        await FluentActions.Awaiting(() => h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Tokens = Estimate }).AsTask())
            .Should().ThrowAsync<ArgumentException>().WithParameterName("Model");
        await FluentActions.Awaiting(() => h.Gate.ReserveAsync(Chat("gpt-x", Estimate) with { CreditType = "usd" }).AsTask())
            .Should().ThrowAsync<ArgumentException>().WithParameterName("CreditType");
        ReservationResult amountPriced = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m });
        await FluentActions.Awaiting(() => h.Gate.SettleAsync(amountPriced.Reservation, Estimate).AsTask())
            .Should().ThrowAsync<ArgumentException>().WithParameterName("reservation");
        h.Available("acme").Should().Be(99m, "only the valid amount-priced reservation holds anything");
    }

    [Test]
    public async Task Reserve_WhileTheCatalogReloadsUnderLoad_EachRequestUsesOneVersionThroughout()
    {
        await using GuardHarness h = await Start(TestCatalogs.Basic(ratePerMillion: 2m));
        await h.GrantAsync("acme", 1_000_000m);
        CatalogOptions cheap = TestCatalogs.Basic(ratePerMillion: 2m);
        cheap.Subscribe("acme", "pro");
        CatalogOptions dear = TestCatalogs.Basic(ratePerMillion: 4m);
        dear.Subscribe("acme", "pro");
        string cheapId = h.Guard.Catalog!.Current.Id;
        var seenVersions = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        using var stop = new CancellationTokenSource();

        long settled = 0;
        Task reloader = Task.Run(async () =>
        {
            for (int i = 0; i < 60; i++)
            {
                h.Catalog!.Change(i % 2 == 0 ? dear : cheap);

                // Let requests run on each version, so reservations straddle the swaps.
                long target = Interlocked.Read(ref settled) + 20;
                while (Interlocked.Read(ref settled) < target)
                {
                    await Task.Yield();
                }
            }

            stop.Cancel();
        });

        await Parallel.ForAsync(0, 8, async (_, ct) =>
        {
            var actual = new TokenUsage(700, 0, 300, 0);
            while (!stop.IsCancellationRequested)
            {
                ReservationResult r = await h.Gate.ReserveAsync(Chat("gpt-x", Estimate), ct);
                r.IsAdmitted.Should().BeTrue();
                SettlementResult s = await h.Gate.SettleAsync(r.Reservation, actual, ct);

                // The hold and the charge must both come from the version recorded on the settlement, never one from each.
                bool isCheap = s.CatalogVersion == cheapId;
                r.Reservation.Held.ToDecimal().Should().Be(isCheap ? 0.006m : 0.012m);
                s.Charged.ToDecimal().Should().Be(isCheap ? 0.0038m : 0.0076m);
                seenVersions.AddOrUpdate(s.CatalogVersion!, 1, (_, n) => n + 1);
                Interlocked.Increment(ref settled);
            }
        });
        await reloader;

        seenVersions.Keys.Should().HaveCount(2, "both versions served while the catalog changed");
        h.Catalog!.Change(dear);
        ReservationResult after = await h.Gate.ReserveAsync(Chat("gpt-x", Estimate));
        after.Reservation.Held.ToDecimal().Should().Be(0.012m, "a request begun after the swap uses the new version");
    }
}
