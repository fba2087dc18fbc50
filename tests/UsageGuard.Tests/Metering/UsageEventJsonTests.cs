using System.Text;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Metering;

/// <summary>The direct UTF-8 event format equals, byte for byte, what <see cref="Utf8JsonWriter"/>'s own methods write.</summary>
[TestFixture]
public sealed class UsageEventJsonTests
{
    private static readonly string?[] Texts =
    [
        null, "", "acme", "org/eng/alice", "team \"red\", west", "back\\slash", "<b>&'+`</b>", "line\nbreak\ttab\u0001", "ünïcödé",
        "emoji 😀", "日本語", "a\u007fdel", "~{|}^_[]", "cut emoji \ud83d", "\ude00 lone low",
    ];

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void TheDirectFormat_IsWhatTheJsonWriterWrites_ForEveryShapeOfEvent(int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < 2_000; i++)
        {
            UsageEvent e = RandomEvent(random);
            string expected = Reference(e);

            var direct = new System.Buffers.ArrayBufferWriter<byte>();
            UsageEventJson.WriteUtf8(direct, e);
            Encoding.UTF8.GetString(direct.WrittenSpan).Should().Be(expected);

            using var envelope = new MemoryStream();
            using (var writer = new Utf8JsonWriter(envelope))
            {
                writer.WriteStartObject();
                writer.WritePropertyName("data");
                UsageEventJson.Write(writer, e);
                writer.WriteEndObject();
            }

            Encoding.UTF8.GetString(envelope.ToArray()).Should().Be("{\"data\":" + expected + "}", "inside an envelope, as CloudEvents writes it");
            JsonDocument.Parse(expected).RootElement.GetProperty("id").GetString().Should().Be(e.Id);
        }
    }

    /// <summary>The longest text each field can take: every escape at its longest, every number at its longest.</summary>
    internal static UsageEvent WorstCaseEvent(string text) => new()
    {
        Id = text,
        Sequence = long.MaxValue,
        Timestamp = new DateTimeOffset(9999, 12, 30, 23, 59, 59, TimeSpan.FromHours(-13)).AddTicks(9_999_999),
        AdmittedAt = new DateTimeOffset(1, 1, 2, 0, 0, 0, TimeSpan.FromHours(14)).AddTicks(1),
        CustomerId = text,
        CreditType = text,
        Subject = text,
        SubjectPath = text,
        Feature = text,
        Model = text,
        AnsweredModel = text,
        SessionId = text,
        RequestId = text,
        ReservationId = long.MinValue,
        CatalogVersion = text,
        Tokens = new TokenUsage(long.MaxValue, long.MaxValue, long.MaxValue, long.MaxValue),
        Estimated = false,
        Charged = CreditAmount.FromUnits(long.MinValue, 18),
        Overdrawn = CreditAmount.FromUnits(0, 18),
        Overage = CreditAmount.FromUnits(long.MinValue, 18),
        Waived = CreditAmount.FromUnits(long.MinValue, 18),
        Blocks = [.. Enumerable.Range(0, 64).Select(_ => new BlockCharge(Guid.NewGuid(), CreditAmount.FromUnits(long.MinValue, 18)))],
        Price = -7.9228162514264337593543950335m,
        VendorCost = decimal.MinValue,
        CostCurrency = text,
    };

    [TestCase("<")]
    [TestCase("\ud83d\ude00")]
    [TestCase("\u2028")]
    [TestCase("\ud800")]
    [TestCase("\"")]
    public void TheRoomAskedFor_HoldsTheLongestEvent(string character)
    {
        UsageEvent e = WorstCaseEvent(string.Concat(Enumerable.Repeat(character, 4_096 / character.Length)));

        var exact = new ExactBufferWriter();
        UsageEventJson.WriteUtf8(exact, e);

        Encoding.UTF8.GetString(exact.Written).Should().Be(Reference(e));
        exact.Written.Length.Should().BeGreaterThan(12 * 24_000, "every text is escaped at 6 bytes a character");
    }

    private static string Reference(UsageEvent e)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            ReferenceEventJson.Write(writer, e);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static UsageEvent RandomEvent(Random random)
    {
        int scale = random.Next(0, 19);
        CreditAmount Amount() => CreditAmount.FromUnits(random.Next(4) == 0 ? random.NextInt64(long.MinValue, long.MaxValue) : random.Next(-5, 5_000_000), scale);
        string? Text() => Texts[random.Next(Texts.Length)];
        DateTimeOffset Instant()
        {
            long ticks = random.Next(4) switch
            {
                0 => 0,
                1 => random.Next(1, 10) * TimeSpan.TicksPerMillisecond,
                2 => random.Next(1, 10),
                _ => random.NextInt64(0, TimeSpan.TicksPerSecond),
            };
            return new DateTimeOffset(2026, random.Next(1, 13), random.Next(1, 29), random.Next(24), random.Next(60), random.Next(60), TimeSpan.FromMinutes(random.Next(-13, 14) * 60 + (random.Next(2) * 30)))
                .AddTicks(ticks);
        }

        int blocks = random.Next(0, 4);
        return new UsageEvent
        {
            Id = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()),
            Sequence = random.NextInt64(1, long.MaxValue),
            Timestamp = Instant(),
            AdmittedAt = Instant(),
            CustomerId = Text() ?? "c",
            CreditType = Text() ?? "credits",
            Subject = Text(),
            SubjectPath = Text(),
            Feature = Text(),
            Model = Text(),
            AnsweredModel = Text(),
            SessionId = Text(),
            RequestId = Text(),
            ReservationId = random.Next(3) == 0 ? null : random.NextInt64(),
            CatalogVersion = Text(),
            Tokens = random.Next(3) == 0 ? null : new TokenUsage(random.NextInt64(0, long.MaxValue), random.Next(), random.Next(), random.Next()),
            Estimated = random.Next(2) == 0,
            Charged = Amount(),
            Overdrawn = CreditAmount.FromUnits(random.Next(0, 100), scale),
            Overage = Amount(),
            Waived = Amount(),
            Blocks = [.. Enumerable.Range(0, blocks).Select(_ => new BlockCharge(Guid.NewGuid(), Amount()))],
            Price = random.Next(3) == 0 ? null : random.NextInt64() / 10_000_000_000m,
            VendorCost = random.Next(3) == 0 ? null : decimal.MaxValue / random.Next(1, 1000),
            CostCurrency = Text(),
        };
    }
}
