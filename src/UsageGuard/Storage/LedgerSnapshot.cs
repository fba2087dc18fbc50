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

    /// <summary>Gets each customer's usage in the latest window of each meter and window kind (empty for snapshots written before usage was recorded).</summary>
    public IReadOnlyList<UsageSnapshot> Usage { get; init; } = [];
}
