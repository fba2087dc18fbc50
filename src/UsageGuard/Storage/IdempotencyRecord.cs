namespace UsageGuard;

/// <summary>The remembered outcome of a mutation made with an idempotency key.</summary>
/// <remarks>Stores persist it in the same transaction as the ledger entries of the operation it guards.</remarks>
public sealed class IdempotencyRecord
{
    /// <summary>Gets the customer the key belongs to; keys of different customers never collide.</summary>
    public required string CustomerId { get; init; }

    /// <summary>Gets the key the caller gave.</summary>
    public required string Key { get; init; }

    /// <summary>Gets a fingerprint of the operation and its payload; a replay with another fingerprint is a conflict.</summary>
    public required string Fingerprint { get; init; }

    /// <summary>Gets when the key was first used.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Gets the outcome, encoded as JSON by the engine; stores keep it opaque.</summary>
    public required string Outcome { get; init; }
}
