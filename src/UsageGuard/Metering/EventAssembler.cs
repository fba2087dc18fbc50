namespace UsageGuard;

/// <summary>Turns ledger entries, fed in sequence order, into usage events: one per settlement record, with the blocks that paid.</summary>
/// <remarks>
/// A settlement's entries are consecutive (one writer command), so the blocks that paid are in the run of entries with its
/// reservation id just before its record. Entries without a reservation id may be left out of the feed.
/// </remarks>
internal sealed class EventAssembler
{
    private readonly List<LedgerEntry> _run = [];

    // True until the feed shows where a settlement begins: until then the run may have started before the first entry fed.
    private bool _runMayBeCut = true;

    /// <summary>
    /// Gets whether the last event returned may lack blocks: its record's run reached back to the first entry fed without adding up
    /// to the charge, so a read that began earlier could have found more. Only the first event of a feed can be short.
    /// </summary>
    internal bool LastMayBeShort { get; private set; }

    /// <summary>Adds the next entry; returns the usage event when the entry carries a settlement record.</summary>
    internal UsageEvent? Add(in LedgerEntry entry)
    {
        LastMayBeShort = false;
        if (_run.Count > 0 && !SameSettlement(_run[^1], entry))
        {
            Cut();
        }

        if (entry.Settlement is { } settled)
        {
            UsageEvent e = Event(entry, settled);
            Cut();
            return e;
        }

        if (entry.ReservationId is not null)
        {
            _run.Add(entry);
        }
        else
        {
            Cut();
        }

        return null;
    }

    private void Cut()
    {
        _run.Clear();
        _runMayBeCut = false;
    }

    private static bool SameSettlement(in LedgerEntry a, in LedgerEntry b) =>
        a.ReservationId == b.ReservationId && a.ReservationId is not null
        && string.Equals(a.CustomerId, b.CustomerId, StringComparison.Ordinal) && string.Equals(a.CreditType, b.CreditType, StringComparison.Ordinal);

    private UsageEvent Event(in LedgerEntry entry, in SettlementRecord settled)
    {
        // Backwards from the record, until the blocks add up to what was charged: a run that began with another settlement of the same
        // reservation id (another instance's) is cut where this one's entries begin.
        List<LedgerEntry> run = _run;
        int scale = settled.Charged.Scale;
        long wanted = settled.Charged.Units;
        if (entry.Kind == LedgerEntryKind.Settle && entry.BlockId is not null)
        {
            run.Add(entry);
        }

        int first = run.Count;
        long found = 0;
        while (first > 0 && found < wanted)
        {
            LedgerEntry e = run[--first];
            if (e.Kind == LedgerEntryKind.Settle && e.BlockId is not null)
            {
                found -= e.Amount.Units;
            }
        }

        LastMayBeShort = _runMayBeCut && found < wanted;
        var blocks = new BlockCharge[CountBlocks(run, first)];
        for (int i = first, b = 0; i < run.Count; i++)
        {
            LedgerEntry e = run[i];
            if (e.Kind == LedgerEntryKind.Settle && e.BlockId is { } block)
            {
                blocks[b++] = new BlockCharge(block, CreditAmount.FromUnits(-e.Amount.Units, scale));
            }
        }

        return new UsageEvent
        {
            Id = entry.Hash.ToString(),
            Sequence = entry.Sequence,
            Timestamp = entry.Timestamp,
            AdmittedAt = settled.AdmittedAt,
            CustomerId = entry.CustomerId,
            CreditType = entry.CreditType,
            Subject = entry.Subject,
            SubjectPath = settled.SubjectPath,
            Feature = entry.Feature,
            Model = entry.Model,
            AnsweredModel = settled.AnsweredModel,
            SessionId = entry.SessionId,
            RequestId = entry.RequestId,
            ReservationId = entry.ReservationId,
            CatalogVersion = entry.CatalogVersion,
            Tokens = settled.Tokens,
            Estimated = settled.Estimated,
            Charged = settled.Charged,
            Overdrawn = settled.Overdrawn,
            Overage = settled.Overage,
            Waived = settled.Waived,
            Blocks = blocks,
            Price = settled.Price,
            VendorCost = settled.VendorCost,
            CostCurrency = settled.CostCurrency,
        };
    }

    private static int CountBlocks(List<LedgerEntry> run, int first)
    {
        int count = 0;
        for (int i = first; i < run.Count; i++)
        {
            if (run[i].Kind == LedgerEntryKind.Settle && run[i].BlockId is not null)
            {
                count++;
            }
        }

        return count;
    }
}
