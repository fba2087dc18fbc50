using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Ledger;

[TestFixture]
public sealed class LedgerEntryHasherTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 14, 9, 26, 53, TimeSpan.FromHours(2));

    private static readonly MeteredUsage Counted = new(
        "feature:chat", 12, UsageWindow.Day, new DateTimeOffset(2026, 3, 14, 0, 0, 0, T0.Offset), new DateTimeOffset(2026, 3, 15, 0, 0, 0, T0.Offset));

    [Test]
    public void Compute_AnEntryWithoutCatalogVersionOrUsage_HashesExactlyAsBeforeTheyExisted()
    {
        using var hasher = new LedgerEntryHasher();

        // Pins format compatibility: these hashes were computed by the release before CatalogVersion and Usage were added. Ledgers
        // written then must still verify, so an entry that has neither must keep exactly this hash. Never update these values.
        hasher.Compute(EveryOldField(), Previous).ToString().Should().Be("d89afe3c47933d9158b54ba0688fbc7db0e76ad476c77764ef233889541812d6");
        hasher.Compute(Bare(), LedgerHash.Genesis).ToString().Should().Be("fa1a9058c2c38c60cf494c960ce8ed0f91daeb33168e2e3b7300215e7aa00096");
    }

    [Test]
    public void Compute_ACatalogVersion_ChangesTheHash()
    {
        using var hasher = new LedgerEntryHasher();
        LedgerEntry entry = EveryOldField();
        LedgerHash without = hasher.Compute(entry, Previous);

        LedgerHash with = hasher.Compute(entry with { CatalogVersion = "0123456789abcdef" }, Previous);
        LedgerHash other = hasher.Compute(entry with { CatalogVersion = "0123456789abcdee" }, Previous);
        LedgerHash empty = hasher.Compute(entry with { CatalogVersion = string.Empty }, Previous);

        new[] { without, with, other, empty }.Should().OnlyHaveUniqueItems();
    }

    [Test]
    public void Compute_ChangingAnyFieldOfTheUsage_ChangesTheHash()
    {
        using var hasher = new LedgerEntryHasher();
        LedgerEntry entry = Bare() with { Kind = LedgerEntryKind.Usage, BlockId = null, Amount = default, Usage = Counted };
        MeteredUsage u = Counted;

        LedgerHash[] hashes =
        [
            hasher.Compute(entry with { Usage = null }, LedgerHash.Genesis),
            hasher.Compute(entry, LedgerHash.Genesis),
            hasher.Compute(entry with { Usage = new MeteredUsage("feature:chaT", u.Quantity, u.Window, u.WindowStart, u.WindowEnd) }, LedgerHash.Genesis),
            hasher.Compute(entry with { Usage = new MeteredUsage(u.Meter, u.Quantity + 1, u.Window, u.WindowStart, u.WindowEnd) }, LedgerHash.Genesis),
            hasher.Compute(entry with { Usage = new MeteredUsage(u.Meter, u.Quantity, UsageWindow.Week, u.WindowStart, u.WindowEnd) }, LedgerHash.Genesis),
            hasher.Compute(entry with { Usage = new MeteredUsage(u.Meter, u.Quantity, u.Window, u.WindowStart.AddTicks(1), u.WindowEnd) }, LedgerHash.Genesis),
            hasher.Compute(entry with { Usage = new MeteredUsage(u.Meter, u.Quantity, u.Window, u.WindowStart, u.WindowEnd.AddTicks(-1)) }, LedgerHash.Genesis),
            hasher.Compute(entry with { CatalogVersion = "0123456789abcdef" }, LedgerHash.Genesis),
            hasher.Compute(entry with { CatalogVersion = "0123456789abcdef", Usage = null }, LedgerHash.Genesis),
        ];

        hashes.Should().OnlyHaveUniqueItems();
    }

    [Test]
    public void Compute_TheSameUsageWindowAtAnotherUtcOffset_HashesTheSame()
    {
        using var hasher = new LedgerEntryHasher();
        LedgerEntry entry = Bare() with { Kind = LedgerEntryKind.Usage, BlockId = null, Amount = default, Usage = Counted };
        TimeSpan offset = TimeSpan.FromHours(-5);
        var shifted = new MeteredUsage(Counted.Meter, Counted.Quantity, Counted.Window, Counted.WindowStart.ToOffset(offset), Counted.WindowEnd.ToOffset(offset));

        hasher.Compute(entry with { Usage = shifted }, LedgerHash.Genesis).Should().Be(hasher.Compute(entry, LedgerHash.Genesis), "instants are hashed as UTC ticks, offsets are not");
        shifted.Should().Be(Counted, "equality follows what the hash covers");
    }

    private static LedgerHash Previous => LedgerHash.Parse("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");

    /// <summary>A settlement with no optional field set.</summary>
    private static LedgerEntry Bare() => new()
    {
        Sequence = 1,
        Timestamp = T0,
        Kind = LedgerEntryKind.Settle,
        CustomerId = "acme",
        CreditType = "credits",
        BlockId = new Guid("01890a5d-ac96-774b-bcce-b302099a8057"),
        Amount = CreditAmount.FromUnits(-2_500_000, 6),
        BalanceBefore = CreditAmount.FromUnits(10_000_000, 6),
        BalanceAfter = CreditAmount.FromUnits(7_500_000, 6),
    };

    /// <summary>An entry with every field the format had before the catalog version and usage, all set.</summary>
    private static LedgerEntry EveryOldField()
    {
        var block = new CreditBlock(
            new Guid("01890a5d-ac96-774b-bcce-b302099a8057"),
            "acme",
            "credits",
            CreditAmount.FromUnits(100_000_000, 6),
            T0,
            T0.AddDays(30),
            3,
            CreditCategory.Promotional,
            0.010m,
            "chat",
            new Dictionary<string, string> { ["source"] = "promo", ["campaign"] = "spring" },
            T0.AddSeconds(-1));
        return new LedgerEntry
        {
            Sequence = 42,
            Timestamp = T0,
            Kind = LedgerEntryKind.Grant,
            CustomerId = "acme",
            CreditType = "credits",
            BlockId = block.Id,
            Amount = block.Amount,
            BalanceBefore = CreditAmount.FromUnits(-5_000_000, 6),
            BalanceAfter = CreditAmount.FromUnits(95_000_000, 6),
            Subject = "acme/eng",
            Feature = "chat",
            Model = "gpt-x",
            SessionId = "s-1",
            RequestId = "r-1",
            IdempotencyKey = "k-1",
            ReservationId = 7,
            Reason = "ü-ñ",
            Block = block,
            PreviousHash = Previous,
        };
    }
}
