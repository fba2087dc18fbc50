namespace UsageGuard;

/// <summary>A credit block's live pool: its immutable terms and its CAS counters.</summary>
internal sealed class BlockAccount : Pool
{
    private volatile int _closedAs;

    internal BlockAccount(CreditBlock terms)
        : base(terms.Amount.Units)
    {
        Terms = terms;
    }

    internal CreditBlock Terms { get; }

    /// <summary>Gets the entry kind that closed the block (<see cref="LedgerEntryKind.Expire"/> or <see cref="LedgerEntryKind.Void"/>), or 0 while open.</summary>
    internal LedgerEntryKind ClosedAs => (LedgerEntryKind)_closedAs;

    internal long CloseAs(LedgerEntryKind kind)
    {
        _closedAs = (int)kind;
        return Close();
    }

    /// <summary>Restores counters and closure from the ledger at start-up, before the block is shared.</summary>
    internal void Restore(long used, long removed, LedgerEntryKind? closedAs)
    {
        _closedAs = (int)closedAs.GetValueOrDefault();
        Restore(used, removed, closedAs is not null);
    }

    internal CreditBlockState StateAt(DateTimeOffset now)
    {
        if (ClosedAs == LedgerEntryKind.Void)
        {
            return CreditBlockState.Voided;
        }

        if (ClosedAs == LedgerEntryKind.Expire || (Terms.ExpiresAt is { } expiry && now >= expiry))
        {
            return CreditBlockState.Expired;
        }

        if (now < Terms.EffectiveAt)
        {
            return CreditBlockState.Scheduled;
        }

        return Available > 0 ? CreditBlockState.Active : CreditBlockState.Depleted;
    }
}
