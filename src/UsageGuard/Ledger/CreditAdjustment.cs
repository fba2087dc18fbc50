namespace UsageGuard;

/// <summary>A correction of a wallet's balance, recorded with a reason.</summary>
/// <remarks>
/// A positive amount unwinds earlier use (a refund) in reverse burn order: it restores the block that would burn
/// last first, up to what was used from each open block. A negative amount uses credits in burn order, like a
/// settlement without a hold.
/// </remarks>
public sealed class CreditAdjustment
{
    /// <summary>Gets the customer.</summary>
    public required string CustomerId { get; init; }

    /// <summary>Gets the signed amount; not zero, at most the credit type's scale in decimal places.</summary>
    public required decimal Amount { get; init; }

    /// <summary>Gets why; recorded on every entry. Required.</summary>
    public required string Reason { get; init; }

    /// <summary>Gets the credit type code, or <see langword="null"/> for <see cref="UsageGuardOptions.DefaultCreditType"/>.</summary>
    public string? CreditType { get; init; }

    /// <summary>Gets the idempotency key; a retry with the same key and payload replays the first outcome.</summary>
    public string? IdempotencyKey { get; init; }
}
