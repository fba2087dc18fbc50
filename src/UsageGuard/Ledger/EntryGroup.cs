namespace UsageGuard;

/// <summary>The entries of one operation, handed to the writer as one command so that one commit holds all of them or none.</summary>
/// <remarks>The first entry is stored inline, so the common single-entry operation allocates nothing.</remarks>
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
            (_more ??= []).Add(entry);
        }

        Count++;
    }
}
