using System.Runtime.CompilerServices;

namespace UsageGuard;

/// <summary>A ledger store that keeps everything in process memory: for tests, samples and ephemeral hosts.</summary>
/// <remarks>
/// Nothing survives the process. Appends are atomic with respect to readers (a reader sees a whole batch or none of it).
/// All members are thread-safe.
/// </remarks>
public sealed class InMemoryLedgerStore : ILedgerStore
{
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
            long expected = _entries.Count == 0 ? 0 : _entries[^1].Sequence;
            foreach (LedgerEntry entry in batch.Entries.Span)
            {
                if (entry.Sequence != ++expected)
                {
                    throw new InvalidOperationException($"Ledger entries must be appended in sequence without gaps: expected {expected}, got {entry.Sequence}. Nothing of this batch was appended.");
                }
            }

            _entries.AddRange(batch.Entries.Span);
            foreach (IdempotencyRecord record in batch.IdempotencyRecords)
            {
                _records.Add(record);
                _recordsByKey[(record.CustomerId, record.Key)] = record;
            }
        }

        return ValueTask.CompletedTask;
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
}
