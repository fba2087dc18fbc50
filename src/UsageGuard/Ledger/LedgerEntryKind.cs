namespace UsageGuard;

/// <summary>What a ledger entry records. The sign of <see cref="LedgerEntry.Amount"/> and its effect on the balance depend on the kind.</summary>
public enum LedgerEntryKind
{
    /// <summary>Credits granted as a new block: amount positive, balance rises by it.</summary>
    Grant = 1,

    /// <summary>Credits used by a settlement, one entry per block touched: amount negative, balance falls by it.</summary>
    Settle = 2,

    /// <summary>Credits that expired unused (and unheld): amount negative, balance falls by it.</summary>
    Expire = 3,

    /// <summary>Credits removed by voiding a block (not retroactive): amount negative, balance falls by it.</summary>
    Void = 4,

    /// <summary>A correction on one block: positive unwinds earlier use, negative uses more; balance moves by it.</summary>
    Adjust = 5,

    /// <summary>A settlement overrun taken as debt: amount negative, no block, balance falls below zero by it.</summary>
    Overdraft = 6,

    /// <summary>A new grant paying debt: amount negative on the granted block, debt falls by the same, balance unchanged.</summary>
    OverdraftSettle = 7,

    /// <summary>A settlement overrun that was not charged but recorded for billing: amount positive, balance unchanged.</summary>
    Overage = 8,

    /// <summary>A hold placed on a block (only when holds are recorded): amount positive, balance unchanged.</summary>
    Reserve = 9,

    /// <summary>A hold given back to a block (only when holds are recorded): amount positive, balance unchanged.</summary>
    Release = 10,

    /// <summary>
    /// Debt written off when an allowance that does not preserve overage resets: amount positive, no block, debt falls by it and
    /// the balance rises by it.
    /// </summary>
    OverdraftWriteOff = 11,

    /// <summary>
    /// Units counted toward a usage meter (a metered feature's window, or a tiered rate's token count) by a settlement: amount zero,
    /// balance unchanged; <see cref="LedgerEntry.Usage"/> says what was counted in which window.
    /// </summary>
    Usage = 12,

    /// <summary>
    /// What a settlement that wrote no other entry (it spent nothing) counted toward the customer's budgets: amount zero, no block,
    /// balance unchanged; <see cref="LedgerEntry.Budgeted"/> says what was counted. A settlement that writes entries records it on its last one.
    /// </summary>
    Budgeted = 13,

    /// <summary>
    /// A settlement that wrote no other entry and counted toward no budget (it spent nothing): amount zero, no block, balance unchanged;
    /// <see cref="LedgerEntry.Settlement"/> records it, so every settlement is a usage event.
    /// </summary>
    Settled = 14,
}
