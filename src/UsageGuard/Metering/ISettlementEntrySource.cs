namespace UsageGuard;

/// <summary>
/// A store that reads just the entries usage events are made of, over a bounded range: the fast path of
/// <see cref="UsageEvents"/> and the parallel reads of <see cref="UsageAuditExport"/>. The built-in stores implement it.
/// </summary>
/// <remarks>
/// <para>It returns only entries with a reservation id (settlements and what they wrote), in sequence order, and fills only the
/// fields a usage event uses: sequence, timestamp, kind, customer, credit type, block, amount, subject, feature, model, session,
/// request, reservation, catalog version, hash and settlement. The others are left at their defaults, so these entries are never
/// hashed, verified or written back.</para>
/// <para>Internal: a partly filled <see cref="LedgerEntry"/> is not something a public contract should hand out.</para>
/// </remarks>
internal interface ISettlementEntrySource
{
    /// <summary>Gets the sequence number of the last committed entry (0 for an empty ledger).</summary>
    ValueTask<long> GetLastSequenceAsync(CancellationToken cancellationToken = default);

    /// <summary>Reads the settlement entries with a sequence number in (<paramref name="afterSequence"/>, <paramref name="throughSequence"/>].</summary>
    IAsyncEnumerable<LedgerEntry> ReadSettlementEntriesAsync(long afterSequence, long throughSequence, CancellationToken cancellationToken = default);
}
