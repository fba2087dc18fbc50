using System.Runtime.CompilerServices;

namespace UsageGuard;

/// <summary>A ledger store that keeps everything in process memory: for tests, samples and ephemeral hosts.</summary>
/// <remarks>
/// Nothing survives the process. Appends are atomic with respect to readers (a reader sees a whole batch or none of it).
/// All members are thread-safe.
/// </remarks>
public sealed class InMemoryLedgerStore : ILedgerStore, ISpendQueries, ISettlementEntrySource
{
    private readonly Dictionary<SpendKey, SpendTotals> _spend = [];
    private int _spendThrough;
    private readonly Lock _gate = new();
    private readonly List<LedgerEntry> _entries = [];
    private readonly List<IdempotencyRecord> _records = [];
    private readonly Dictionary<(string Customer, string Key), IdempotencyRecord> _recordsByKey = [];
    private LedgerSnapshot? _snapshot;

    /// <summary>Gets the number of entries appended so far.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <inheritdoc />
    public ValueTask AppendAsync(LedgerBatch batch, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ReadOnlySpan<LedgerEntry> entries = batch.Entries.Span;
            long last = _entries.Count == 0 ? 0 : _entries[^1].Sequence;
            int stored = 0;
            if (!entries.IsEmpty && entries[0].Sequence <= last)
            {
                // A batch sent again after its commit went unacknowledged: the same entries are skipped, a different one is refused.
                stored = (int)Math.Min(entries.Length, last - entries[0].Sequence + 1);
                for (int i = 0; i < stored; i++)
                {
                    if (entries[i].Sequence < 1 || _entries[(int)entries[i].Sequence - 1].Hash != entries[i].Hash)
                    {
                        throw new LedgerCorruptedException($"The store already holds a different entry {entries[i].Sequence}: another writer, or a replaced store. Nothing of this batch was appended.");
                    }
                }
            }

            long expected = stored == 0 ? last : entries[stored - 1].Sequence;
            for (int i = stored; i < entries.Length; i++)
            {
                if (entries[i].Sequence != ++expected)
                {
                    throw new InvalidOperationException($"Ledger entries must be appended in sequence without gaps: expected {expected}, got {entries[i].Sequence}. Nothing of this batch was appended.");
                }
            }

            if (stored == entries.Length && stored > 0)
            {
                return ValueTask.CompletedTask;
            }

            _entries.AddRange(entries[stored..]);
            foreach (IdempotencyRecord record in batch.IdempotencyRecords)
            {
                _records.Add(record);
                _recordsByKey[(record.CustomerId, record.Key)] = record;
            }
        }

        return ValueTask.CompletedTask;
    }

    ValueTask<long> ISettlementEntrySource.GetLastSequenceAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_entries.Count == 0 ? 0 : _entries[^1].Sequence);
        }
    }

    async IAsyncEnumerable<LedgerEntry> ISettlementEntrySource.ReadSettlementEntriesAsync(long afterSequence, long throughSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var copy = new List<LedgerEntry>();
        lock (_gate)
        {
            // Sequence numbers are consecutive from 1: the range starts at its index, so a part of a long ledger costs its own length.
            int first = _entries.Count == 0 ? 0 : (int)Math.Clamp(afterSequence - _entries[0].Sequence + 1, 0, _entries.Count);
            for (int i = first; i < _entries.Count && _entries[i].Sequence <= throughSequence; i++)
            {
                if (_entries[i].ReservationId is not null)
                {
                    copy.Add(_entries[i]);
                }
            }
        }

        foreach (LedgerEntry entry in copy)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return entry;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<LedgerEntry> ReadAsync(long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        LedgerEntry[] copy;
        lock (_gate)
        {
            copy = _entries.Where(e => e.Sequence > afterSequence).ToArray();
        }

        foreach (LedgerEntry entry in copy)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return entry;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<LedgerEntry>> QueryAsync(LedgerQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var page = new List<LedgerEntry>(Math.Min(query.Limit, 1024));
        lock (_gate)
        {
            foreach (LedgerEntry entry in _entries)
            {
                if (query.Matches(entry))
                {
                    page.Add(entry);
                    if (page.Count == query.Limit)
                    {
                        break;
                    }
                }
            }
        }

        return ValueTask.FromResult<IReadOnlyList<LedgerEntry>>(page);
    }

    /// <inheritdoc />
    public ValueTask SaveSnapshotAsync(LedgerSnapshot snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        lock (_gate)
        {
            _snapshot = snapshot;
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<LedgerSnapshot?> LoadLatestSnapshotAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_snapshot);
        }
    }

    /// <inheritdoc />
    public ValueTask<IdempotencyRecord?> FindIdempotencyRecordAsync(string customerId, string key, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_recordsByKey.GetValueOrDefault((customerId, key)));
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<IdempotencyRecord> ReadIdempotencyRecordsAsync(DateTimeOffset createdSince, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        IdempotencyRecord[] copy;
        lock (_gate)
        {
            copy = _records.Where(r => r.CreatedAt >= createdSince).ToArray();
        }

        foreach (IdempotencyRecord record in copy)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask PruneIdempotencyRecordsAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _records.RemoveAll(r => r.CreatedAt < createdBefore);
            foreach (KeyValuePair<(string Customer, string Key), IdempotencyRecord> pair in _recordsByKey.Where(p => p.Value.CreatedAt < createdBefore).ToList())
            {
                _recordsByKey.Remove(pair.Key);
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>The rollup is brought up to date with the entries appended since the last query, then grouped.</remarks>
    public ValueTask<IReadOnlyList<SpendRow>> QuerySpendAsync(SpendQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        lock (_gate)
        {
            for (; _spendThrough < _entries.Count; _spendThrough++)
            {
                SpendRollup.Add(_spend, _entries[_spendThrough]);
            }

            return new ValueTask<IReadOnlyList<SpendRow>>(SpendRollup.Group(_spend, query));
        }
    }
}
