namespace UsageGuard;

/// <summary>What a settlement does when the actual cost is above the hold.</summary>
public enum SettlementPolicy
{
    /// <summary>Charge the hold only; record the excess as an <see cref="LedgerEntryKind.Overage"/> entry for billing. The balance never goes below what was held.</summary>
    Reject = 0,

    /// <summary>Charge the hold plus whatever else the wallet can pay now, never below zero; the rest is waived (reported, not recorded for billing).</summary>
    Cap = 1,

    /// <summary>Charge the hold plus whatever else the wallet can pay, then go into debt up to the credit type's overdraft limit; the next grant settles the debt first. Anything beyond the limit is recorded as overage.</summary>
    Overdraft = 2,
}
