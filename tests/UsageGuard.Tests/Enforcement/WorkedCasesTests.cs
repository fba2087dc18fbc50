using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Enforcement;

[TestFixture]
public sealed class WorkedCasesTests
{
    private static readonly DateTimeOffset Sep1 = new(2026, 9, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Aug15 = new(2026, 8, 15, 0, 0, 0, TimeSpan.Zero);

    [Test]
    public async Task Consume_AcrossBlocks_FollowsBurnOrderAndWritesOneSettleEntryPerBlock()
    {
        await using var h = await GuardHarness.StartAsync();
        var a = await h.GrantAsync("acme", 50, priority: 1, CreditCategory.Paid, Sep1);
        var b = await h.GrantAsync("acme", 20, priority: 1, CreditCategory.Promotional, Sep1);
        var c = await h.GrantAsync("acme", 100, priority: 2, CreditCategory.Promotional, Aug15);

        var result = await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 60 });

        result.IsAdmitted.Should().BeTrue();
        result.Settlement.Charged.ToDecimal().Should().Be(60);
        var blocks = h.Ledger.GetBalance("acme").Blocks.ToDictionary(x => x.Block.Id);
        blocks[b.Block.Id].Remaining.ToDecimal().Should().Be(0);
        blocks[a.Block.Id].Remaining.ToDecimal().Should().Be(10);
        blocks[c.Block.Id].Remaining.ToDecimal().Should().Be(100);
        var settles = (await h.EntriesAsync()).Where(e => e.Kind == LedgerEntryKind.Settle).ToList();
        settles.Should().HaveCount(2);
        settles[0].BlockId.Should().Be(b.Block.Id);
        settles[0].Amount.ToDecimal().Should().Be(-20);
        settles[1].BlockId.Should().Be(a.Block.Id);
        settles[1].Amount.ToDecimal().Should().Be(-40);
        settles[1].BalanceAfter.ToDecimal().Should().Be(110);
    }

    [Test]
    public async Task Settle_BelowHold_ReturnsTheRest()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 5000);
        var reserved = await h.ReserveAsync("acme", 1000);
        h.Available("acme").Should().Be(4000);

        var settled = await reserved.Reservation.SettleAsync(743);

        settled.Charged.ToDecimal().Should().Be(743);
        settled.Released.ToDecimal().Should().Be(257);
        h.Balance("acme").Should().Be(5000 - 743);
        h.Available("acme").Should().Be(5000 - 743);
        h.Ledger.GetBalance("acme").Held.ToDecimal().Should().Be(0);
    }

    [Test]
    public async Task Expiry_WithInFlightHold_HonoursTheHoldAndExpiresOnlyTheRest()
    {
        await using var h = await GuardHarness.StartAsync();
        var block = await h.GrantAsync("acme", 100, expiresAt: h.Time.GetUtcNow().AddHours(1));
        var reserved = await h.ReserveAsync("acme", 30, ttl: TimeSpan.FromHours(2));
        h.Time.Advance(TimeSpan.FromHours(1));

        h.Available("acme").Should().Be(0, "a request after the expiry cannot use the block");
        var balance = h.Ledger.GetBalance("acme");
        balance.Balance.ToDecimal().Should().Be(30, "the held 30 stays until settled");
        balance.Blocks[0].State.Should().Be(CreditBlockState.Expired);
        balance.Blocks[0].Expired.ToDecimal().Should().Be(70);
        (await h.ReserveAsync("acme", 1)).Status.Should().Be(ReservationStatus.InsufficientCredits);

        var settled = await reserved.Reservation.SettleAsync(20);

        settled.Charged.ToDecimal().Should().Be(20);
        h.Balance("acme").Should().Be(0);
        var entries = await h.EntriesAsync();
        entries.Where(e => e.Kind == LedgerEntryKind.Expire).Select(e => e.Amount.ToDecimal()).Should().Equal(-70, -10);
        entries.Single(e => e.Kind == LedgerEntryKind.Settle).Amount.ToDecimal().Should().Be(-20);
        entries.First(e => e.Kind == LedgerEntryKind.Expire).Timestamp.Should().Be(block.Block.ExpiresAt!.Value);
    }

    [Test]
    public async Task Overdraft_IsSettledFirstByTheNextGrant()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 10);
        var reserved = await h.ReserveAsync("acme", 8, policy: SettlementPolicy.Overdraft);

        var settled = await reserved.Reservation.SettleAsync(25);

        settled.Charged.ToDecimal().Should().Be(10);
        settled.Overdrawn.ToDecimal().Should().Be(15);
        h.Balance("acme").Should().Be(-15);
        h.Ledger.GetBalance("acme").Owed.ToDecimal().Should().Be(15);

        var grant = await h.GrantAsync("acme", 40);

        grant.PaidToDebt.ToDecimal().Should().Be(15);
        var balance = h.Ledger.GetBalance("acme");
        balance.Owed.ToDecimal().Should().Be(0);
        balance.Balance.ToDecimal().Should().Be(25);
        balance.Available.ToDecimal().Should().Be(25);
        var entries = await h.EntriesAsync();
        entries.Select(e => e.Kind).Should().ContainInOrder(LedgerEntryKind.Overdraft, LedgerEntryKind.Grant, LedgerEntryKind.OverdraftSettle);
        var overdraftSettle = entries.Single(e => e.Kind == LedgerEntryKind.OverdraftSettle);
        overdraftSettle.BalanceBefore.Should().Be(overdraftSettle.BalanceAfter);
        overdraftSettle.BalanceAfter.ToDecimal().Should().Be(25);
    }

    [Test]
    public async Task Overdraft_BeyondTheLimit_IsRecordedAsOverage()
    {
        await using var h = await GuardHarness.StartAsync(o => o.CreditTypes[0].OverdraftLimit = 5);
        await h.GrantAsync("acme", 10);
        var reserved = await h.ReserveAsync("acme", 10, policy: SettlementPolicy.Overdraft);

        var settled = await reserved.Reservation.SettleAsync(22);

        settled.Charged.ToDecimal().Should().Be(10);
        settled.Overdrawn.ToDecimal().Should().Be(5);
        settled.Overage.ToDecimal().Should().Be(7);
        h.Balance("acme").Should().Be(-5);
    }

    [Test]
    public async Task Reject_ChargesTheHoldAndRecordsTheExcessAsOverage()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 100);
        var reserved = await h.ReserveAsync("acme", 10, policy: SettlementPolicy.Reject);

        var settled = await reserved.Reservation.SettleAsync(14);

        settled.Charged.ToDecimal().Should().Be(10);
        settled.Overage.ToDecimal().Should().Be(4);
        h.Balance("acme").Should().Be(90);
        var overage = (await h.EntriesAsync()).Single(e => e.Kind == LedgerEntryKind.Overage);
        overage.Amount.ToDecimal().Should().Be(4);
        overage.BalanceAfter.Should().Be(overage.BalanceBefore);
    }

    [Test]
    public async Task Cap_ChargesWhatTheWalletHasAndWaivesTheRest()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 12);
        var reserved = await h.ReserveAsync("acme", 10, policy: SettlementPolicy.Cap);

        var settled = await reserved.Reservation.SettleAsync(15);

        settled.Charged.ToDecimal().Should().Be(12);
        settled.Waived.ToDecimal().Should().Be(3);
        h.Balance("acme").Should().Be(0);
        (await h.EntriesAsync()).Should().NotContain(e => e.Kind == LedgerEntryKind.Overage);
    }

    [Test]
    public async Task Void_RemovesOnlyWhatIsNeitherUsedNorHeld()
    {
        await using var h = await GuardHarness.StartAsync();
        var block = await h.GrantAsync("acme", 100);
        await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 30 });
        var held = await h.ReserveAsync("acme", 20);

        var voided = await h.Ledger.VoidAsync("acme", block.Block.Id, "refund issued");

        voided.Total.ToDecimal().Should().Be(-50);
        h.Balance("acme").Should().Be(20);
        (await h.ReserveAsync("acme", 1)).IsAdmitted.Should().BeFalse();
        await held.Reservation.ReleaseAsync();
        h.Balance("acme").Should().Be(0);
        var entries = await h.EntriesAsync();
        entries.Where(e => e.Kind == LedgerEntryKind.Void).Select(e => e.Amount.ToDecimal()).Should().Equal(-50, -20);
        entries.First(e => e.Kind == LedgerEntryKind.Void).Reason.Should().Be("refund issued");
        h.Ledger.GetBalance("acme").Blocks[0].State.Should().Be(CreditBlockState.Voided);
    }

    [Test]
    public async Task Adjust_Refund_UnwindsInReverseBurnOrder()
    {
        await using var h = await GuardHarness.StartAsync();
        var first = await h.GrantAsync("acme", 10, priority: 1);
        var second = await h.GrantAsync("acme", 10, priority: 2);
        await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 15 });

        var refund = await h.Ledger.AdjustAsync(new CreditAdjustment { CustomerId = "acme", Amount = 7, Reason = "model error" });

        refund.Changes.Should().Equal(
            new BlockChange(second.Block.Id, CreditAmount.FromDecimal(5, 6)),
            new BlockChange(first.Block.Id, CreditAmount.FromDecimal(2, 6)));
        h.Balance("acme").Should().Be(12);

        var next = await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 2 });
        next.IsAdmitted.Should().BeTrue();
        h.Ledger.GetBalance("acme").Blocks.Single(b => b.Block.Id == first.Block.Id).Remaining.ToDecimal().Should().Be(0, "restored credits burn again in burn order");
    }

    [Test]
    public async Task Adjust_Debit_UsesBurnOrderAndIsAllOrNothing()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 10, priority: 1);
        await h.GrantAsync("acme", 10, priority: 2);

        var debit = await h.Ledger.AdjustAsync(new CreditAdjustment { CustomerId = "acme", Amount = -12, Reason = "late usage" });

        debit.Changes.Select(c => c.Amount.ToDecimal()).Should().Equal(-10, -2);
        h.Balance("acme").Should().Be(8);
        var before = await h.EntriesAsync();

        Func<Task> tooMuch = () => h.Ledger.AdjustAsync(new CreditAdjustment { CustomerId = "acme", Amount = -9, Reason = "late usage" }).AsTask();

        await tooMuch.Should().ThrowAsync<InsufficientCreditsException>();
        h.Balance("acme").Should().Be(8);
        (await h.EntriesAsync()).Should().HaveCount(before.Count);
    }

    [Test]
    public async Task ScheduledGrant_IsNotUsableBeforeItsEffectiveTime_AndDenialSaysWhenToRetry()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 10, effectiveAt: h.Time.GetUtcNow().AddMinutes(30));

        var denied = await h.ReserveAsync("acme", 5);

        denied.Status.Should().Be(ReservationStatus.InsufficientCredits);
        denied.Scope.Should().Be("wallet:credits");
        denied.RetryAfter.Should().Be(TimeSpan.FromMinutes(30));
        h.Time.Advance(TimeSpan.FromMinutes(30));
        (await h.ReserveAsync("acme", 5)).IsAdmitted.Should().BeTrue();
    }

    [Test]
    public async Task FeatureScopedBlock_PaysOnlyForItsFeature()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 10, featureScope: "image.generate");

        (await h.ReserveAsync("acme", 5, feature: "chat.completions")).IsAdmitted.Should().BeFalse();
        (await h.ReserveAsync("acme", 5, feature: "image.generate")).IsAdmitted.Should().BeTrue();
    }

    [Test]
    public async Task BalanceAsOf_ReadsThePast()
    {
        await using var h = await GuardHarness.StartAsync();
        DateTimeOffset t0 = h.Time.GetUtcNow();
        await h.GrantAsync("acme", 100);
        h.Time.Advance(TimeSpan.FromHours(1));
        await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 40 });
        h.Time.Advance(TimeSpan.FromHours(1));

        (await h.Ledger.GetBalanceAsOfAsync("acme", t0.AddMinutes(30))).ToDecimal().Should().Be(100);
        (await h.Ledger.GetBalanceAsOfAsync("acme", t0.AddMinutes(90))).ToDecimal().Should().Be(60);
        (await h.Ledger.GetBalanceAsOfAsync("acme", t0.AddMinutes(-1))).ToDecimal().Should().Be(0);
    }

    [Test]
    public async Task History_CarriesAttributionAndBeforeAfterBalances()
    {
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 100);
        await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 3, Subject = "acme/eng/agent:r", Feature = "chat", Model = "gpt-x", SessionId = "s1", RequestId = "r1" });
        await h.GrantAsync("other", 5);

        var history = await h.Ledger.GetHistoryAsync(new LedgerQuery { CustomerId = "acme", Model = "gpt-x" });

        history.Should().ContainSingle();
        LedgerEntry e = history[0];
        (e.Subject, e.Feature, e.Model, e.SessionId, e.RequestId).Should().Be(("acme/eng/agent:r", "chat", "gpt-x", "s1", "r1"));
        e.BalanceBefore.ToDecimal().Should().Be(100);
        e.BalanceAfter.ToDecimal().Should().Be(97);
        e.ReservationId.Should().NotBeNull();
        (await h.Ledger.GetHistoryAsync(new LedgerQuery { CustomerId = "acme" })).Should().OnlyContain(x => x.CustomerId == "acme");
    }
}
