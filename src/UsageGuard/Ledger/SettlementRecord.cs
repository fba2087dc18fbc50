namespace UsageGuard;

/// <summary>
/// What one settlement charged and for what: <see cref="LedgerEntry.Settlement"/>, on the settlement's last entry. Each one is a
/// usage event (<see cref="UsageEvent"/>), and spend queries sum them.
/// </summary>
/// <remarks>
/// <para>Every settlement records exactly one, on the last entry it writes; a settlement that writes no other entry (it spent nothing
/// and counted nothing) writes a <see cref="LedgerEntryKind.Settled"/> entry to carry it. The settlement's entries are consecutive in
/// the ledger, so its <see cref="LedgerEntryKind.Settle"/> entries just before (same customer and reservation) say which blocks paid.</para>
/// <para>A struct, so that a settlement allocates nothing to record it.</para>
/// </remarks>
public readonly record struct SettlementRecord
{
    /// <summary>Gets when the reservation was admitted.</summary>
    public DateTimeOffset AdmittedAt { get; init; }

    /// <summary>Gets the credits taken from blocks.</summary>
    public CreditAmount Charged { get; init; }

    /// <summary>Gets the credits taken as debt (an overrun under <see cref="SettlementPolicy.Overdraft"/>, or an offline allowance).</summary>
    public CreditAmount Overdrawn { get; init; }

    /// <summary>Gets the overrun recorded for billing but not charged.</summary>
    public CreditAmount Overage { get; init; }

    /// <summary>Gets the overrun forgiven (<see cref="SettlementPolicy.Cap"/>).</summary>
    public CreditAmount Waived { get; init; }

    /// <summary>Gets the tokens the settlement was priced from, by kind, or <see langword="null"/> for a settlement with an amount.</summary>
    public TokenUsage? Tokens { get; init; }

    /// <summary>Gets whether the tokens (and so the charge) are an estimate: the provider reported no usage, or the call was cut off.</summary>
    public bool Estimated { get; init; }

    /// <summary>Gets the model that answered, when the settlement named one other than the entry's (requested) model.</summary>
    public string? AnsweredModel { get; init; }

    /// <summary>
    /// Gets the subject's path in the customer's subject tree at settlement (<c>org/team/user</c>), or the subject as given when it
    /// is not a node of the tree; <see langword="null"/> without a subject. Spend by team sums the events whose path passes the team.
    /// </summary>
    public string? SubjectPath { get; init; }

    /// <summary>
    /// Gets what the credits taken from blocks were sold at: the sum, over the blocks that paid, of the credits each paid times its
    /// <see cref="CreditBlock.CostBasis"/>, rounded to 10 decimal places; <see langword="null"/> when no block that paid has a cost basis.
    /// Debt has no price yet.
    /// </summary>
    public decimal? Price { get; init; }

    /// <summary>Gets what the model's vendor charges for the tokens (the rate's <see cref="ModelRate.CostBasis"/>, rounded up to 10 decimal places), or <see langword="null"/> without one.</summary>
    public decimal? VendorCost { get; init; }

    /// <summary>Gets the currency of <see cref="VendorCost"/>, or <see langword="null"/> without one.</summary>
    public string? CostCurrency { get; init; }

    /// <summary>Gets the credits consumed: <see cref="Charged"/> plus <see cref="Overdrawn"/>.</summary>
    public CreditAmount Consumed => CreditAmount.FromUnits(checked(Charged.Units + Overdrawn.Units), Charged.Scale);
}
