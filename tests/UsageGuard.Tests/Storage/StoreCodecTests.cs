using System.Text;
using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Storage;

[TestFixture]
public sealed class StoreCodecTests
{
    private static readonly DateTimeOffset T0 = new(2026, 8, 1, 0, 0, 0, TimeSpan.FromHours(2));

    [Test]
    public void DecodeUsage_OfEncodeUsage_GivesTheSameUsage()
    {
        var usage = new MeteredUsage("tokens:gpt-x", long.MaxValue, UsageWindow.Week, T0.AddTicks(1), T0.AddDays(7));

        MeteredUsage decoded = StoreCodec.DecodeUsage(StoreCodec.EncodeUsage(usage));

        decoded.Should().Be(usage);
        decoded.WindowStart.Should().Be(usage.WindowStart);
        decoded.WindowStart.Offset.Should().Be(usage.WindowStart.Offset);
    }

    [TestCase(UsageWindow.Minute, 5)]
    [TestCase(UsageWindow.Second, 6)]
    public void EncodeUsage_MinuteAndSecondWindows_StoreTheirNumberAndDecodeBack(UsageWindow window, int stored)
    {
        var usage = new MeteredUsage("feature:chat", 3, window, T0, window == UsageWindow.Minute ? T0.AddMinutes(1) : T0.AddSeconds(1));

        string json = StoreCodec.EncodeUsage(usage);

        json.Should().Contain($"\"Window\":{stored},");
        StoreCodec.DecodeUsage(json).Should().Be(usage);
    }

    [Test]
    public void DecodeUsage_ThatBreaksTheRulesOfMeteredUsage_Throws()
    {
        string empty = """{"Meter":"","Quantity":1,"Window":1,"WindowStart":"2026-08-01T00:00:00+00:00","WindowEnd":"2026-08-02T00:00:00+00:00"}""";
        string negative = """{"Meter":"feature:chat","Quantity":-1,"Window":1,"WindowStart":"2026-08-01T00:00:00+00:00","WindowEnd":"2026-08-02T00:00:00+00:00"}""";
        string backwards = """{"Meter":"feature:chat","Quantity":1,"Window":1,"WindowStart":"2026-08-02T00:00:00+00:00","WindowEnd":"2026-08-01T00:00:00+00:00"}""";

        foreach (string json in new[] { empty, negative, backwards })
        {
            Action decode = () => StoreCodec.DecodeUsage(json);
            decode.Should().Throw<ArgumentException>("a store turns it into a damaged-store error");
        }
    }

    [Test]
    public void DecodeSnapshot_OfEncodeSnapshot_KeepsTheUsage()
    {
        var snapshot = new LedgerSnapshot
        {
            Sequence = 9,
            LastHash = LedgerHash.Parse(new string('a', 64)),
            Wallets = [],
            Usage =
            [
                new() { CustomerId = "acme", Usage = new MeteredUsage("feature:chat", 5, UsageWindow.Day, T0, T0.AddDays(1)) },
                new() { CustomerId = "globex", Usage = new MeteredUsage("tokens:m", 0, UsageWindow.Hour, T0, T0.AddHours(1)) },
            ],
        };

        LedgerSnapshot decoded = StoreCodec.DecodeSnapshot(StoreCodec.EncodeSnapshot(snapshot));

        decoded.Usage.Select(u => (u.CustomerId, u.Usage)).Should().Equal(snapshot.Usage.Select(u => (u.CustomerId, u.Usage)));
    }

    [Test]
    public void DecodeSnapshot_WrittenBeforeUsageWasRecorded_HasNoUsage()
    {
        // What the release before usage metering wrote: no Usage property at all.
        string json = $$"""
            {"Sequence":3,"LastHash":"{{new string('b', 64)}}","Wallets":[{"CustomerId":"acme","CreditType":"credits","OwedUnits":0,"Blocks":[]}]}
            """;

        LedgerSnapshot decoded = StoreCodec.DecodeSnapshot(Encoding.UTF8.GetBytes(json));

        decoded.Sequence.Should().Be(3);
        decoded.Wallets.Should().ContainSingle();
        decoded.Usage.Should().NotBeNull().And.BeEmpty();
    }
}
