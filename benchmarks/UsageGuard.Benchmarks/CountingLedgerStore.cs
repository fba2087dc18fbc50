using System.Diagnostics;

namespace UsageGuard.Benchmarks;

/// <summary>
/// Passes everything to an inner store and counts the batches and entries appended: how large the writer's group
/// commits were. On request it also records how long each append took. Benchmark use only; the counters are read
/// between runs, not while the writer appends.
/// </summary>
internal sealed class CountingLedgerStore(ILedgerStore inner) : ILedgerStore
{
    private long _batches;
    private long _entries;
    private long[]? _appendTicks;
    private int _recorded;

    /// <summary>Gets the number of <see cref="AppendAsync"/> calls that carried at least one entry.</summary>
    internal long Batches => Volatile.Read(ref _batches);

    /// <summary>Gets the number of entries appended.</summary>
    internal long Entries => Volatile.Read(ref _entries);

    /// <summary>From the next append on, records how long each takes, up to <paramref name="capacity"/> appends.</summary>
    internal void RecordAppendTimes(int capacity)
    {
        _recorded = 0;
        Volatile.Write(ref _appendTicks, new long[capacity]);
    }

    /// <summary>Stops recording and returns the recorded append durations, in milliseconds, in order.</summary>
    internal double[] StopRecording()
    {
        long[] ticks = Interlocked.Exchange(ref _appendTicks, null) ?? [];
        var ms = new double[Math.Min(Volatile.Read(ref _recorded), ticks.Length)];
        for (int i = 0; i < ms.Length; i++)
        {
            ms[i] = ticks[i] * 1000.0 / Stopwatch.Frequency;
        }

        return ms;
    }

    public ValueTask AppendAsync(LedgerBatch batch, CancellationToken cancellationToken = default)
    {
        // Only the single ledger writer calls this.
        long[]? times = Volatile.Read(ref _appendTicks);
        if (batch.Entries.IsEmpty || times is null)
        {
            Count(batch);
            return inner.AppendAsync(batch, cancellationToken);
        }

        long start = Stopwatch.GetTimestamp();
        ValueTask append = inner.AppendAsync(batch, cancellationToken);
        if (!append.IsCompletedSuccessfully)
        {
            append.AsTask().GetAwaiter().GetResult();
        }

        if (_recorded < times.Length)
        {
            times[_recorded] = Stopwatch.GetTimestamp() - start;
            Volatile.Write(ref _recorded, _recorded + 1);
        }

        Count(batch);
        return ValueTask.CompletedTask;
    }

    public IAsyncEnumerable<LedgerEntry> ReadAsync(long afterSequence, CancellationToken cancellationToken = default) =>
        inner.ReadAsync(afterSequence, cancellationToken);

    public ValueTask<IReadOnlyList<LedgerEntry>> QueryAsync(LedgerQuery query, CancellationToken cancellationToken = default) =>
        inner.QueryAsync(query, cancellationToken);

    public ValueTask SaveSnapshotAsync(LedgerSnapshot snapshot, CancellationToken cancellationToken = default) =>
        inner.SaveSnapshotAsync(snapshot, cancellationToken);

    public ValueTask<LedgerSnapshot?> LoadLatestSnapshotAsync(CancellationToken cancellationToken = default) =>
        inner.LoadLatestSnapshotAsync(cancellationToken);

    public ValueTask PruneIdempotencyRecordsAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default) =>
        inner.PruneIdempotencyRecordsAsync(createdBefore, cancellationToken);

    public ValueTask<IdempotencyRecord?> FindIdempotencyRecordAsync(string customerId, string key, CancellationToken cancellationToken = default) =>
        inner.FindIdempotencyRecordAsync(customerId, key, cancellationToken);

    public IAsyncEnumerable<IdempotencyRecord> ReadIdempotencyRecordsAsync(DateTimeOffset createdSince, CancellationToken cancellationToken = default) =>
        inner.ReadIdempotencyRecordsAsync(createdSince, cancellationToken);

    private void Count(LedgerBatch batch)
    {
        if (!batch.Entries.IsEmpty)
        {
            Volatile.Write(ref _batches, _batches + 1);
            Volatile.Write(ref _entries, _entries + batch.Entries.Length);
        }
    }
}
