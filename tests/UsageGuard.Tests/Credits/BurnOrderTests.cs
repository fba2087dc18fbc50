using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Credits;

[TestFixture]
public sealed class BurnOrderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 8, 1, 0, 0, 0, TimeSpan.Zero);

    private static CreditBlock Block(int priority = 0, DateTimeOffset? expires = null, CreditCategory category = CreditCategory.Paid, DateTimeOffset? effective = null, DateTimeOffset? created = null, Guid? id = null) =>
        new(id ?? Guid.NewGuid(), "acme", "credits", CreditAmount.FromUnits(1, 6), effective ?? T0, expires, priority, category, null, null, null, created ?? T0);

    [Test]
    public void Default_OrdersByPriorityExpiryCategoryEffectiveCreatedId()
    {
        var lowPriority = Block(priority: 0, expires: T0.AddDays(90));
        var soon = Block(priority: 1, expires: T0.AddDays(1));
        var later = Block(priority: 1, expires: T0.AddDays(2));
        var never = Block(priority: 1);
        var promo = Block(priority: 2, category: CreditCategory.Promotional);
        var paid = Block(priority: 2, category: CreditCategory.Paid);
        var earlyEffective = Block(priority: 3, effective: T0.AddDays(-1));
        var lateEffective = Block(priority: 3, effective: T0);
        var earlyCreated = Block(priority: 4, created: T0.AddDays(-1));
        var lateCreated = Block(priority: 4, created: T0);
        var idA = Block(priority: 5, id: Guid.Parse("00000000-0000-0000-0000-000000000001"));
        var idB = Block(priority: 5, id: Guid.Parse("00000000-0000-0000-0000-000000000002"));
        CreditBlock[] expected = [lowPriority, soon, later, never, promo, paid, earlyEffective, lateEffective, earlyCreated, lateCreated, idA, idB];

        var shuffled = expected.Reverse().ToList();
        shuffled.Sort(BurnOrder.Default);

        shuffled.Should().Equal(expected);
    }

    [Test]
    public async Task Custom_BurnOrderPerCreditType_IsUsedForConsumption()
    {
        // Paid first: a customer contract that burns purchased credits before promotional ones.
        var paidFirst = BurnOrder.Create(Comparer<CreditBlock>.Create((x, y) => ((int)y.Category).CompareTo((int)x.Category)));
        await using var h = await GuardHarness.StartAsync(o => o.CreditTypes[0].BurnOrder = paidFirst);
        var promo = await h.GrantAsync("acme", 10, category: CreditCategory.Promotional);
        var paid = await h.GrantAsync("acme", 10, category: CreditCategory.Paid);

        await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 4 });

        var blocks = h.Ledger.GetBalance("acme").Blocks.ToDictionary(b => b.Block.Id);
        blocks[paid.Block.Id].Remaining.ToDecimal().Should().Be(6);
        blocks[promo.Block.Id].Remaining.ToDecimal().Should().Be(10);
    }
}
