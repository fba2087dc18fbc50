namespace UsageGuard;

/// <summary>The ledger's projected state at one sequence number: what start-up loads before replaying later entries.</summary>
/// <remarks>Immutable once built; stores serialize it as they see fit.</remarks>
public sealed class LedgerSnapshot
{
    /// <summary>Gets the sequence number of the last entry the snapshot includes (0 for none).</summary>
    public required long Sequence { get; init; }

    /// <summary>Gets the hash of that entry, which the next entry chains to.</summary>
    public required LedgerHash LastHash { get; init; }

    /// <summary>Gets the wallets, one per customer and credit type.</summary>
    public required IReadOnlyList<WalletSnapshot> Wallets { get; init; }
}

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

/// <summary>One credit block in a <see cref="WalletSnapshot"/>.</summary>
public sealed class BlockSnapshot
{
    /// <summary>Gets the block's terms.</summary>
    public required CreditBlock Terms { get; init; }

    /// <summary>Gets the units used (settled, adjusted, paid to debt).</summary>
    public required long UsedUnits { get; init; }

    /// <summary>Gets the units removed by expiry or void.</summary>
    public required long RemovedUnits { get; init; }

    /// <summary>Gets what closed the block (<see cref="LedgerEntryKind.Expire"/> or <see cref="LedgerEntryKind.Void"/>), or <see langword="null"/> while open.</summary>
    public LedgerEntryKind? ClosedAs { get; init; }
}
