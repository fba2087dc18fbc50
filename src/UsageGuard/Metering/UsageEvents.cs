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
        return FromEntries(
            store is ISettlementEntrySource source
                ? source.ReadSettlementEntriesAsync(afterSequence, long.MaxValue, cancellationToken)
                : store.ReadAsync(afterSequence, cancellationToken),
            cancellationToken);
    }

    /// <summary>Turns entries, in ledger order, into the usage events of the settlements among them.</summary>
    /// <param name="entries">Ledger entries in sequence order; a settlement whose first entries are missing loses only its block breakdown.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The events.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="entries"/> is null.</exception>
    public static async IAsyncEnumerable<UsageEvent> FromEntries(IAsyncEnumerable<LedgerEntry> entries, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var assembler = new EventAssembler();
        await foreach (LedgerEntry entry in entries.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (assembler.Add(entry) is { } e)
            {
                yield return e;
            }
        }
    }
}
