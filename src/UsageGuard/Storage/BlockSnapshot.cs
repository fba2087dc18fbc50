namespace UsageGuard;

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
