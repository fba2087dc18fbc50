namespace UsageGuard;

/// <summary>One wallet in a <see cref="LedgerSnapshot"/>.</summary>
public sealed class WalletSnapshot
{
    /// <summary>Gets the customer.</summary>
    public required string CustomerId { get; init; }

    /// <summary>Gets the credit type code.</summary>
    public required string CreditType { get; init; }

    /// <summary>Gets the debt in units (overdraft not yet settled by a grant).</summary>
    public required long OwedUnits { get; init; }

    /// <summary>Gets the blocks, in no particular order.</summary>
    public required IReadOnlyList<BlockSnapshot> Blocks { get; init; }
}
