using System.Text;
using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Metering;

/// <summary>The binary form of a settlement record (the SQLite store's): exact round trips, JSON still read, damage refused.</summary>
[TestFixture]
public sealed class SettlementBinaryTests
{
    [Test]
    public void EveryRecord_RoundTripsExactly_AndIsSmallerThanItsJson()
    {
        var random = new Random(11);
        var strings = new Utf8Strings();
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        for (int i = 0; i < 1_000; i++)
        {
            SettlementRecord record = EventChunksTests.RandomRecord(random, i);
            byte[] bytes = SettlementBinary.Encode(record);
            SettlementBinary.Decode(bytes, strings).Should().Be(record);
            bytes.Length.Should().BeLessThan(Encoding.UTF8.GetByteCount(StoreCodec.EncodeSettlement(record)));

            buffer.ResetWrittenCount();
            SettlementBinary.Encode(record, buffer);
            buffer.WrittenSpan.ToArray().Should().Equal(bytes, "the writer's reused buffer holds the same bytes");
        }

        SettlementRecord extreme = EventChunksTests.RandomRecord(random, 0) with
        {
            AdmittedAt = DateTimeOffset.MaxValue,
            Charged = CreditAmount.FromUnits(long.MinValue + 1, 6),
            Waived = CreditAmount.FromUnits(long.MaxValue, 6),
            Price = decimal.MinValue,
            VendorCost = decimal.MaxValue,
        };
        SettlementBinary.Decode(SettlementBinary.Encode(extreme), strings).Should().Be(extreme);
    }

    [Test]
    public void AJsonRecord_WrittenBeforeTheBinaryForm_StillReads()
    {
        SettlementRecord record = EventChunksTests.RandomRecord(new Random(2), 7);
        SettlementBinary.Decode(Encoding.UTF8.GetBytes(StoreCodec.EncodeSettlement(record)), new Utf8Strings()).Should().Be(record);
    }

    [Test]
    public void ADamagedRecord_IsRefused_NeverMisread()
    {
        byte[] bytes = SettlementBinary.Encode(EventChunksTests.RandomRecord(new Random(4), 3) with { SubjectPath = "org/eng", Price = 1.5m });
        for (int length = 0; length < bytes.Length; length++)
        {
            Action cut = () => SettlementBinary.Decode(bytes.AsSpan(0, length), new Utf8Strings());
            cut.Should().Throw<FormatException>($"cut to {length} of {bytes.Length} bytes");
        }

        Action longer = () => SettlementBinary.Decode([.. bytes, 0], new Utf8Strings());
        longer.Should().Throw<FormatException>().WithMessage("*past its end*");
        Action version = () => SettlementBinary.Decode([2, .. bytes.AsSpan(1)], new Utf8Strings());
        version.Should().Throw<FormatException>().WithMessage("*unknown format 2*");
        Action scale = () => SettlementBinary.Decode([1, bytes[1], 99, .. bytes.AsSpan(3)], new Utf8Strings());
        scale.Should().Throw<ArgumentException>();
    }
}
