namespace UsageGuard;

/// <summary>One immutable record of the credit ledger.</summary>
/// <remarks>
/// <para>Entries are never updated or deleted. <see cref="Sequence"/>, <see cref="BalanceBefore"/>,
/// <see cref="BalanceAfter"/>, <see cref="PreviousHash"/> and <see cref="Hash"/> are assigned by the single
/// ledger writer in ledger order; <see cref="Hash"/> covers every other field and the previous hash, so an
/// edited, removed or reordered entry breaks the chain.</para>
/// <para>Balances here are the wallet's posted balance (credits granted less used, expired and voided, less
/// debt); holds do not change it.</para>
/// </remarks>
public readonly record struct LedgerEntry
{
    /// <summary>Gets the position in the ledger, from 1, without gaps.</summary>
    public long Sequence { get; init; }

    /// <summary>Gets when the change took effect (for a lazily noticed expiry, the block's expiry instant).</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>Gets what the entry records.</summary>
    public LedgerEntryKind Kind { get; init; }

    /// <summary>Gets the customer whose wallet changed.</summary>
    public string CustomerId { get; init; }

    /// <summary>Gets the credit type code of the wallet.</summary>
    public string CreditType { get; init; }

    /// <summary>Gets the block the entry applies to, or <see langword="null"/> for wallet-level entries (overdraft, overage).</summary>
    public Guid? BlockId { get; init; }

    /// <summary>Gets the amount; its sign and effect depend on <see cref="Kind"/>.</summary>
    public CreditAmount Amount { get; init; }

    /// <summary>Gets the wallet's posted balance before the entry.</summary>
    public CreditAmount BalanceBefore { get; init; }

    /// <summary>Gets the wallet's posted balance after the entry.</summary>
    public CreditAmount BalanceAfter { get; init; }

    /// <summary>Gets who acted inside the customer, when known.</summary>
    public string? Subject { get; init; }

    /// <summary>Gets the feature that was metered, when known.</summary>
    public string? Feature { get; init; }

    /// <summary>Gets the model that ran, when known.</summary>
    public string? Model { get; init; }

    /// <summary>Gets the agent session or conversation, when known.</summary>
    public string? SessionId { get; init; }

    /// <summary>Gets the host's request id, when known.</summary>
    public string? RequestId { get; init; }

    /// <summary>Gets the idempotency key of the operation that wrote the entry, when one was given.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>Gets the reservation that the entry settles or releases, when any.</summary>
    public long? ReservationId { get; init; }

    /// <summary>Gets the reason given for a void or an adjustment.</summary>
    public string? Reason { get; init; }

    /// <summary>Gets the terms of the granted block, on <see cref="LedgerEntryKind.Grant"/> entries only.</summary>
    public CreditBlock? Block { get; init; }

    /// <summary>Gets what was counted, on <see cref="LedgerEntryKind.Usage"/> entries only.</summary>
    public MeteredUsage? Usage { get; init; }

    /// <summary>
    /// Gets what a settlement counted toward budgets: on the last entry of each settlement of a reservation that held in a budget limit
    /// (a <see cref="LedgerEntryKind.Budgeted"/> entry when the settlement wrote no other), <see langword="null"/> on every other entry.
    /// </summary>
    public BudgetedUsage? Budgeted { get; init; }

    /// <summary>
    /// Gets the catalog version (the first 16 hex digits of its content hash) that priced or gated the operation, when a catalog did:
    /// settlements of catalog-priced or feature-gated reservations, their usage entries, and allowance grants.
    /// </summary>
    public string? CatalogVersion { get; init; }

    /// <summary>
    /// Gets what a settlement charged and for what, on the last entry of every settlement (a <see cref="LedgerEntryKind.Settled"/> or
    /// <see cref="LedgerEntryKind.Budgeted"/> entry when it wrote no other); <see langword="null"/> on every other entry. Each one is a usage event.
    /// </summary>
    public SettlementRecord? Settlement { get; init; }

    /// <summary>Gets the hash of the entry before this one (<see cref="LedgerHash.Genesis"/> for the first).</summary>
    public LedgerHash PreviousHash { get; init; }

    /// <summary>Gets the SHA-256 hash of this entry's fields and <see cref="PreviousHash"/>.</summary>
    public LedgerHash Hash { get; init; }
}
