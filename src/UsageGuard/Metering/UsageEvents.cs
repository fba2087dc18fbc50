using System.Runtime.CompilerServices;

namespace UsageGuard;

/// <summary>Reads usage events out of a ledger: one per settlement, in ledger order.</summary>
public static class UsageEvents
{
    /// <summary>Reads the usage events of the settlements recorded after a sequence number, in ledger order.</summary>
    /// <param name="store">The ledger store.</param>
    /// <param name="afterSequence">The sequence number to start after: 0 for the beginning, or an event's <see cref="UsageEvent.Sequence"/> to resume after it.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The events; the store is read as they are enumerated, so memory does not grow with the ledger.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="store"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="afterSequence"/> is negative.</exception>
    public static IAsyncEnumerable<UsageEvent> ReadAsync(ILedgerStore store, long afterSequence = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        return FromEntries(store.ReadAsync(afterSequence, cancellationToken), cancellationToken);
    }

    /// <summary>Turns entries, in ledger order, into the usage events of the settlements among them.</summary>
    /// <param name="entries">Ledger entries in sequence order; a settlement whose first entries are missing loses only its block breakdown.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The events.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="entries"/> is null.</exception>
    public static async IAsyncEnumerable<UsageEvent> FromEntries(IAsyncEnumerable<LedgerEntry> entries, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var run = new List<LedgerEntry>();
        await foreach (LedgerEntry entry in entries.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (run.Count > 0 && !SameSettlement(run[^1], entry))
            {
                run.Clear();
            }

            if (entry.Settlement is { } settled)
            {
                yield return Event(entry, settled, run);
                run.Clear();
            }
            else if (entry.ReservationId is not null)
            {
                // The entries of one settlement are consecutive (one writer command), so the blocks that paid are in this run.
                run.Add(entry);
            }
        }
    }

    private static bool SameSettlement(in LedgerEntry a, in LedgerEntry b) =>
        a.ReservationId == b.ReservationId && a.ReservationId is not null
        && string.Equals(a.CustomerId, b.CustomerId, StringComparison.Ordinal) && string.Equals(a.CreditType, b.CreditType, StringComparison.Ordinal);

    private static UsageEvent Event(in LedgerEntry entry, in SettlementRecord settled, List<LedgerEntry> run)
    {
        // Backwards from the record, until the blocks add up to what was charged: a run that began with another settlement of the same
        // reservation id (another instance's) is cut where this one's entries begin.
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

        var blocks = new List<BlockCharge>();
        for (int i = first; i < run.Count; i++)
        {
            LedgerEntry e = run[i];
            if (e.Kind == LedgerEntryKind.Settle && e.BlockId is { } block)
            {
                blocks.Add(new BlockCharge(block, CreditAmount.FromUnits(-e.Amount.Units, scale)));
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
}
