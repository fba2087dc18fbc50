namespace UsageGuard;

/// <summary>The entries of one operation, handed to the writer as one command so that one commit holds all of them or none.</summary>
/// <remarks>
/// The first entry is stored inline, so the common single-entry operation allocates nothing; the others go to a list rented
/// from a small pool, which the writer gives back once it has copied them, so a settlement with a usage entry allocates nothing either.
/// </remarks>
internal struct EntryGroup
{
    private LedgerEntry _first;
    private List<LedgerEntry>? _more;

    internal int Count { get; private set; }

    internal readonly LedgerEntry First => _first;

    internal readonly List<LedgerEntry>? More => _more;

    internal void Add(in LedgerEntry entry)
    {
        if (Count == 0)
        {
            _first = entry;
        }
        else
        {
            (_more ??= Lists.Rent()).Add(entry);
        }

        Count++;
    }

    /// <summary>
    /// Records, on the settlement's last entry, what it counted toward budgets and what it charged; false (nothing changed) when the
    /// group is empty.
    /// </summary>
    internal bool CloseWith(BudgetedUsage? budgeted, in SettlementRecord settlement)
    {
        if (Count == 0)
        {
            return false;
        }

        if (Count == 1)
        {
            _first = _first with { Budgeted = budgeted, Settlement = settlement };
        }
        else
        {
            _more![^1] = _more[^1] with { Budgeted = budgeted, Settlement = settlement };
        }

        return true;
    }

    /// <summary>A bounded pool of entry lists: rented by operations on any thread, returned by the writer once it has copied them.</summary>
    /// <remarks>
    /// Sized for the lists in flight when callers outrun the writer; beyond <see cref="MaxKept"/> lists (each a few entries), or for
    /// a list grown large, the GC takes them. Renting and returning allocate nothing in steady state.
    /// </remarks>
    internal static class Lists
    {
        private const int MaxKept = 1_024;
        private const int MaxKeptCapacity = 16;
        private static readonly System.Collections.Concurrent.ConcurrentQueue<List<LedgerEntry>> s_kept = new();
        private static int s_count;

        internal static List<LedgerEntry> Rent()
        {
            if (s_kept.TryDequeue(out List<LedgerEntry>? list))
            {
                Interlocked.Decrement(ref s_count);
                return list;
            }

            return new List<LedgerEntry>(4);
        }

        internal static void Return(List<LedgerEntry> list)
        {
            if (list.Capacity > MaxKeptCapacity)
            {
                return;
            }

            if (Interlocked.Increment(ref s_count) > MaxKept)
            {
                Interlocked.Decrement(ref s_count);
                return;
            }

            list.Clear();
            s_kept.Enqueue(list);
        }
    }
}
