using System.Text.Json;
using System.Text.Json.Serialization;

namespace UsageGuard;

/// <summary>The stored form of a keyed operation's outcome: enough to replay it after a restart.</summary>
internal sealed class IdempotencyOutcome
{
    public string Operation { get; set; } = string.Empty;

    public int Status { get; set; }

    public int Scale { get; set; }

    public long ReservationId { get; set; }

    public long DeadlineTicks { get; set; }

    public long Held { get; set; }

    public long Actual { get; set; }

    public long Charged { get; set; }

    public long Released { get; set; }

    public long Overdrawn { get; set; }

    public long Overage { get; set; }

    public long Waived { get; set; }

    public string? Reason { get; set; }

    public string? Scope { get; set; }

    public long? RetryAfterTicks { get; set; }

    public Guid? BlockId { get; set; }

    public Guid[]? ChangedBlocks { get; set; }

    public long[]? ChangedUnits { get; set; }

    internal static IdempotencyOutcome Decode(string json) =>
        JsonSerializer.Deserialize(json, IdempotencyOutcomeJson.Default.IdempotencyOutcome)
        ?? throw new UsageGuardException("A stored idempotency record has an empty outcome; the store is damaged.");

    internal string Encode() => JsonSerializer.Serialize(this, IdempotencyOutcomeJson.Default.IdempotencyOutcome);
}

[JsonSerializable(typeof(IdempotencyOutcome))]
internal sealed partial class IdempotencyOutcomeJson : JsonSerializerContext;
