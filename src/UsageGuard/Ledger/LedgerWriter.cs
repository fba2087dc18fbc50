using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace UsageGuard;

/// <summary>
/// The only writer of the ledger: drains a bounded channel on a dedicated thread, numbers and hash-chains
/// entries, computes their before/after balances, and commits each batch in one store call (group commit).
/// </summary>
/// <remarks>
/// <para>Producers (any thread) enqueue into a lock-free <see cref="LedgerQueue{T}"/> channel without allocating; the
/// writer waits on an event only when the queue is empty, so a short queue is committed at once rather than on a timer.</para>
/// <para>A full queue pushes back: producers spin, then sleep, until the writer catches up. The queue never
/// grows without bound and never drops an entry.</para>
/// </remarks>
internal sealed partial class LedgerWriter : IAsyncDisposable
{
    private readonly LedgerQueue<LedgerCommand> _channel;
    private readonly ManualResetEventSlim _work = new(false);
    private readonly ILedgerStore _store;
    private readonly ISharedLedgerStore? _shared;
    private readonly LedgerOutbox? _outbox;
    private long _nextOutboxDrainTicks;
    private TimeSpan _drainBackoff = MaxRetryDelay;
    internal static readonly TimeSpan MaxDrainBackoff = TimeSpan.FromSeconds(5);
    private int _failedAttempts;
    private readonly Queue<(long First, long Last)> _ownRanges = new();
    private readonly List<Guid> _inDoubt = [];
    private readonly LedgerProjection _projection;
    private readonly LedgerEntryHasher _hasher = new();
    private readonly ILogger _logger;
    private LedgerEntry[] _batch;
    private readonly List<IdempotencyRecord> _records = [];
    private readonly long _snapshotInterval;
    private readonly int _maxBatchSize;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _thread;
    private long _lastSequence;
    private LedgerHash _lastHash;
    private long _sinceSnapshot;
    private static readonly TimeSpan WakeUpBound = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(1);
    private readonly TimeProvider _time;
    private readonly TimeSpan _idempotencyRetention;
    private long _missedWakeUps;
    private volatile bool _stopping;
    private volatile UsageGuardHealth _health = UsageGuardHealth.Healthy;

    /// <summary>How many queued commands are committed: all of them below this position.</summary>
    private long _committed;

    /// <summary>Completed (and replaced) after every commit; faulted, and kept, when the writer stops on an error.</summary>
    private TaskCompletionSource _nextCommit = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>How many commands must be committed for everything this thread has queued to be: its last position + 1.</summary>
    [ThreadStatic]
    private static long t_queuedThrough;

    /// <summary>The writer <see cref="t_queuedThrough"/> belongs to: a thread may write to several guards.</summary>
    [ThreadStatic]
    private static LedgerWriter? t_queuedTo;

    internal LedgerWriter(ILedgerStore store, LedgerProjection projection, long lastSequence, LedgerHash lastHash, int queueCapacity, int maxBatchSize, long snapshotInterval, TimeProvider time, TimeSpan idempotencyRetention, ILogger logger, ISharedLedgerStore? shared = null, LedgerOutbox? outbox = null)
    {
        _store = store;
        _shared = shared;
        _outbox = shared is null ? null : outbox;
        _time = time;
        _idempotencyRetention = idempotencyRetention;
        _projection = projection;
        _lastSequence = lastSequence;
        _lastHash = lastHash;
        _logger = logger;
        _maxBatchSize = maxBatchSize;
        _batch = new LedgerEntry[maxBatchSize];
        _snapshotInterval = snapshotInterval;
        _channel = new LedgerQueue<LedgerCommand>(queueCapacity);
        _thread = new Thread(Run) { IsBackground = true, Name = "UsageGuard ledger writer" };
        _thread.Start();
    }

    /// <summary>Gets how often the writer found work after waiting the full wake-up bound: a wake-up that was lost.</summary>
    internal long MissedWakeUps => Interlocked.Read(ref _missedWakeUps);

    /// <summary>Gets whether the store takes the writer's batches: healthy, failing (the batch is kept and retried), or stopped.</summary>
    internal UsageGuardHealth Health => _health;

    /// <summary>
    /// Gets the batches whose append failed without a known outcome and that were not appended since (many instances). The store may
    /// have committed them: their entries, if the follower reads them, are this instance's. Read and changed under <see cref="AppendGate"/>.
    /// </summary>
    internal IReadOnlyList<Guid> InDoubt => _inDoubt;

    /// <summary>Held while a batch is appended and its sequence numbers recorded, and while the follower reads: it never sees this instance's entries before <see cref="IsOwn"/> knows them.</summary>
    internal object AppendGate { get; } = new();

    /// <summary>
    /// Gets whether this writer appended the entry numbered <paramref name="sequence"/> (many instances). Called under <see cref="AppendGate"/>
    /// in increasing order: ranges below it are forgotten.
    /// </summary>
    internal bool IsOwn(long sequence)
    {
        while (_ownRanges.TryPeek(out (long First, long Last) range))
        {
            if (sequence > range.Last)
            {
                _ownRanges.Dequeue();
                continue;
            }

            return sequence >= range.First;
        }

        return false;
    }

    /// <summary>Gets the position that durability waits for after this thread's last write: pass it to <see cref="WhenCommitted"/>.</summary>
    /// <remarks>An operation queues its entries and then waits on the same thread, so this is its own last command (or, when
    /// it wrote nothing, an earlier one of this thread, which makes the wait end at once).</remarks>
    internal long QueuedByThisThread => ReferenceEquals(t_queuedTo, this) ? t_queuedThrough : 0;

    /// <summary>Gets the position that covers everything queued so far, by any thread.</summary>
    internal long QueuedByAnyThread => _channel.Claimed;

    internal void Write(in LedgerEntry entry) => Enqueue(new LedgerCommand(entry, null, null));

    /// <summary>Queues one operation's entries and its idempotency record as one command: they are committed in the same batch.</summary>
    internal void Write(in EntryGroup group, IdempotencyRecord? record)
    {
        if (group.Count == 0 && record is null)
        {
            return;
        }

        Enqueue(new LedgerCommand(group.Count == 0 ? default : group.First, group.More, record));
    }

    /// <summary>Gets whether the commands below a position are committed.</summary>
    internal bool IsCommitted(long through) => Volatile.Read(ref _committed) >= through;

    /// <summary>Gets a task that completes at the next commit (or fails when the writer stops): read it before checking <see cref="IsCommitted"/>.</summary>
    internal Task NextCommit => Volatile.Read(ref _nextCommit).Task;

    /// <summary>Completes when every command below a position is committed; fails if the writer stops before that.</summary>
    /// <remarks>
    /// One shared completion per commit, not one per caller: a durable call costs no allocation of its own here and no extra
    /// queue slot. The position is read again after taking the completion, so a commit that lands in between is not missed.
    /// </remarks>
    internal async Task WhenCommitted(long through, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task next = NextCommit;
            if (IsCommitted(through))
            {
                return;
            }

            await next.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping)
        {
            await _stopped.Task.ConfigureAwait(false);
            return;
        }

        _stopping = true;
        _channel.Writer.TryComplete();
        _work.Set();
        await _stopped.Task.ConfigureAwait(false);
        _work.Dispose();
    }

    private void Enqueue(in LedgerCommand command)
    {
        if (!_channel.TryEnqueue(command, out long position))
        {
            position = EnqueueSlow(command);
        }

        t_queuedThrough = position + 1;
        t_queuedTo = this;

        // A full fence between publishing the command and reading the event: without it the read can be served before
        // the publish is visible (store-load reordering, allowed even on x86), while the writer resets the event and
        // finds the queue empty; then nobody wakes the writer. The writer's reset is itself a full fence.
        Interlocked.MemoryBarrier();
        if (!_work.IsSet)
        {
            _work.Set();
        }
    }

    private long EnqueueSlow(in LedgerCommand command)
    {
        var spinner = default(SpinWait);
        long position;
        while (!_channel.TryEnqueue(command, out position))
        {
            if (_health.WriterStopped)
            {
                throw new LedgerUnavailableException("The ledger writer stopped after an unexpected error and writes nothing more; restart the guard. The store holds everything committed before.", _health.LastError!);
            }

            if (_stopping)
            {
                throw new ObjectDisposedException(nameof(LedgerWriter), "The ledger writer has stopped; the guard is shutting down.");
            }

            spinner.SpinOnce(sleep1Threshold: 30);
        }

        return position;
    }

    private void Run()
    {
        try
        {
            var reader = _channel.Reader;
            while (true)
            {
                long dequeuedBefore = _channel.Dequeued;
                int count = Drain(reader);
                if (_channel.Dequeued == dequeuedBefore)
                {
                    // Quiet, with batches in the outbox: append them now, not only when the next batch comes.
                    _ = _outbox is { Count: > 0 } && DrainOutbox();
                    if (reader.Completion.IsCompleted)
                    {
                        break;
                    }

                    _work.Reset();
                    // Re-check after the reset: a producer that wrote before it saw the event set would otherwise be missed.
                    if (!reader.TryPeek(out _) && !reader.Completion.IsCompleted
                        && !_work.Wait(WakeUpBound) && reader.TryPeek(out _))
                    {
                        // A safety net, counted so tests can prove it is never needed: a missed wake-up costs at most
                        // WakeUpBound of latency instead of stalling every durable call for good.
                        Interlocked.Increment(ref _missedWakeUps);
                    }

                    continue;
                }

                Commit(count);
            }

            _ = _outbox is { Count: > 0 } && DrainOutbox();
            SaveSnapshot();
            _hasher.Dispose();
            _stopped.TrySetResult();
        }
        catch (Exception ex)
        {
            _health = new UsageGuardHealth(ex, _time.GetUtcNow(), _health.FailedAttempts, writerStopped: true);
            LogWriterStopped(_logger, ex);
            FailWaiters(ex);
            _stopped.TrySetException(ex);
        }
    }

    private int Drain(ChannelReader<LedgerCommand> reader)
    {
        int count = 0;
        while (count < _maxBatchSize && reader.TryRead(out LedgerCommand command))
        {
            if (command.Record is not null)
            {
                _records.Add(command.Record);
            }

            if (command.Entry.CustomerId is not null)
            {
                // A command is never split across batches: a batch may run past the size limit to keep it whole.
                int needed = count + 1 + (command.More?.Count ?? 0);
                if (needed > _batch.Length)
                {
                    Array.Resize(ref _batch, Math.Max(needed, _batch.Length * 2));
                }

                _batch[count++] = Seal(command.Entry);
                if (command.More is { } more)
                {
                    foreach (LedgerEntry entry in more)
                    {
                        _batch[count++] = Seal(entry);
                    }

                    EntryGroup.Lists.Return(more);
                }
            }
        }

        return count;
    }

    private LedgerEntry Seal(in LedgerEntry draft)
    {
        if (_shared is not null)
        {
            // Many instances: the store numbers, balances and chains the batch; this instance's projection would not see the others' entries.
            return draft;
        }

        long sequence = _lastSequence + 1;
        LedgerEntry entry = Seal(draft, sequence, _lastHash, _projection, _hasher, out string? problem);
        if (problem is not null)
        {
            // The engine only writes what it has already applied; a problem here is a bug, and the entry is still the truth of what happened.
            LogProjectionProblem(_logger, sequence, problem);
        }

        _lastHash = entry.Hash;
        _lastSequence = sequence;
        return entry;
    }

    /// <summary>What the writer does to every draft: applies it to the projection, numbers it, records the balances before and after, and chains it.</summary>
    /// <remarks>Shared with the benchmarks that build valid ledgers without an engine.</remarks>
    internal static LedgerEntry Seal(in LedgerEntry draft, long sequence, LedgerHash previous, LedgerProjection projection, LedgerEntryHasher hasher, out string? problem)
    {
        problem = projection.Apply(draft, out long before, out long after);
        int scale = draft.Amount.Scale;
        var entry = draft with
        {
            Sequence = sequence,
            BalanceBefore = CreditAmount.FromUnits(before, scale),
            BalanceAfter = CreditAmount.FromUnits(after, scale),
            PreviousHash = previous,
        };
        return entry with { Hash = hasher.Compute(entry, previous) };
    }

    private void Commit(int count)
    {
        long started = _time.GetTimestamp();
        using Activity? activity = UsageGuardDiagnostics.Source.StartActivity("usageguard.ledger.flush", ActivityKind.Internal);
        activity?.SetTag(UsageGuardDiagnostics.BatchSizeTag, count);
        var batch = new LedgerBatch(new ReadOnlyMemory<LedgerEntry>(_batch, 0, count), _records);

        // One id for every attempt: a retry after a commit whose outcome was lost applies nothing again.
        Guid batchId = _shared is null ? default : Guid.CreateVersion7();
        if (_outbox is null || !CommitThroughOutbox(batchId, batch))
        {
            AppendUntilTaken(batchId, batch);
        }

        Array.Clear(_batch, 0, count);
        _records.Clear();
        UsageGuardDiagnostics.LedgerBatchSize.Record(count);
        UsageGuardDiagnostics.LedgerBatchDuration.Record(_time.GetElapsedTime(started).TotalSeconds);

        // Everything taken from the queue so far was in this batch or an earlier one, and is now committed.
        Volatile.Write(ref _committed, _channel.Dequeued);
        Interlocked.Exchange(ref _nextCommit, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        _sinceSnapshot += count;
        if (_snapshotInterval > 0 && _sinceSnapshot >= _snapshotInterval)
        {
            SaveSnapshot();
        }
    }

    /// <summary>Appends the batch, retrying with back-off until the store takes it (or, while stopping, three times).</summary>
    private void AppendUntilTaken(Guid batchId, LedgerBatch batch)
    {
        int attempt = 0;
        while (true)
        {
            try
            {
                if (_outbox is { Count: > 0 } && !DrainOutbox())
                {
                    // The outbox could not take this batch; the ones waiting there still go first.
                    throw new LedgerUnavailableException("The batches waiting in the local outbox are appended first, and the store does not take them yet.");
                }

                if (_shared is not null)
                {
                    AppendShared(batchId, batch);
                    break;
                }

                ValueTask append = _store.AppendAsync(batch);
                if (!append.IsCompletedSuccessfully)
                {
                    append.AsTask().GetAwaiter().GetResult();
                }

                break;
            }
            catch (Exception ex) when (!_stopping || attempt < 3)
            {
                // Nothing acknowledged may be lost: keep the batch and retry, with back-off, until the store takes it. The store
                // applies a batch whole or not at all, and recognises a batch it already committed, so a retry never doubles it.
                attempt++;
                NoteFailure(ex);
                Thread.Sleep(TimeSpan.FromMilliseconds(Math.Min(MaxRetryDelay.TotalMilliseconds, 10 * (1 << Math.Min(attempt, 9)))));
            }
        }

        NoteTaken();
    }

    /// <summary>
    /// Many instances with a local outbox: appends the batch when nothing waits in the outbox and the store takes it; otherwise writes
    /// it to the outbox (flushed to disk), where it waits, in order, behind the batches spilled before it. Either way it is
    /// acknowledged. Returns false only when the outbox cannot be written either: the batch is then kept in memory and retried.
    /// </summary>
    /// <remarks>
    /// A batch never overtakes one spilled before it: while the outbox holds batches, new ones go behind them. Each waiting batch keeps
    /// the id it was spilled under, so one appended before a crash and appended again after it applies once.
    /// </remarks>
    private bool CommitThroughOutbox(Guid batchId, LedgerBatch batch)
    {
        if (DrainOutbox())
        {
            try
            {
                AppendShared(batchId, batch);
                NoteTaken();
                return true;
            }
            catch (Exception ex)
            {
                NoteFailure(ex);
                PostponeDrain();
            }
        }

        try
        {
            _outbox!.Spill(batchId, batch.Entries.Span, batch.IdempotencyRecords);
            LogSpilled(_logger, batch.Entries.Length, _outbox.Count);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogSpillFailed(_logger, _outbox!.Directory, ex);
            return false;
        }
    }

    /// <summary>
    /// Appends the outbox's batches in the order they were spilled, removing each once the store took it. Returns whether the outbox is
    /// empty. While the store fails, tries at most once per second.
    /// </summary>
    private bool DrainOutbox()
    {
        if (_outbox!.Count == 0)
        {
            return true;
        }

        if (_time.GetUtcNow().UtcTicks < _nextOutboxDrainTicks)
        {
            return false;
        }

        foreach (string path in _outbox.PendingFiles())
        {
            OutboxBatch spilled;
            try
            {
                spilled = _outbox.Read(path);
            }
            catch (LedgerCorruptedException ex)
            {
                // Damaged on disk after it was written whole: it cannot be appended, and keeping it would stop every later batch.
                LogOutboxDamaged(_logger, path, ex);
                _outbox.SetAside(path);
                continue;
            }

            try
            {
                AppendShared(spilled.BatchId, new LedgerBatch(spilled.Entries, spilled.Records));
            }
            catch (Exception ex)
            {
                NoteFailure(ex);
                PostponeDrain();
                return false;
            }

            _outbox.Remove(spilled);
        }

        NoteTaken();
        return _outbox.Count == 0;
    }

    /// <summary>
    /// After a failed attempt, the next one waits 1 s, then twice as long each time, up to 5 s: where the network hangs rather than
    /// refuses, an attempt holds the writer (and new batches wait to be spilled) until it times out; 5 s keeps the catch-up after
    /// the store returns short.
    /// </summary>
    private void PostponeDrain()
    {
        _nextOutboxDrainTicks = (_time.GetUtcNow() + _drainBackoff).UtcTicks;
        _drainBackoff = TimeSpan.FromTicks(Math.Min(_drainBackoff.Ticks * 2, MaxDrainBackoff.Ticks));
    }

    private void NoteFailure(Exception ex)
    {
        UsageGuardDiagnostics.StoreErrors.Add(1, new KeyValuePair<string, object?>("error.type", ex.GetType().FullName));
        _failedAttempts++;
        _health = new UsageGuardHealth(ex, _health.FailingSince ?? _time.GetUtcNow(), _failedAttempts, writerStopped: false);
        LogAppendFailed(_logger, _failedAttempts, ex);
    }

    private void NoteTaken()
    {
        _drainBackoff = MaxRetryDelay;
        if (!_health.IsHealthy)
        {
            LogStoreRecovered(_logger, _failedAttempts);
            _health = UsageGuardHealth.Healthy;
        }

        _failedAttempts = 0;
    }

    /// <remarks>
    /// Bounded by the store's stall time-out: an append stuck on a connection the network cut is abandoned and retried under the same
    /// batch id (applied once), so the writer, and the follower waiting on <see cref="AppendGate"/>, never hang on it.
    /// </remarks>
    private void AppendShared(Guid batchId, LedgerBatch batch)
    {
        lock (AppendGate)
        {
            using var cancel = new CancellationTokenSource();
            Task<long> append = _shared!.AppendUnsequencedAsync(batchId, batch.Entries, batch.IdempotencyRecords, cancel.Token).AsTask();
            long first;
            try
            {
                first = StoreCall.Bounded(append, _shared.StallTimeout, _time, cancel, "appending a batch");
            }
            catch when (batch.Entries.Length > 0)
            {
                // Its outcome is unknown until it is appended again: the store may have committed it.
                if (!_inDoubt.Contains(batchId))
                {
                    _inDoubt.Add(batchId);
                }

                throw;
            }

            _inDoubt.Remove(batchId);
            if (batch.Entries.Length > 0)
            {
                _ownRanges.Enqueue((first, first + batch.Entries.Length - 1));
                _lastSequence = first + batch.Entries.Length - 1;
            }
        }
    }

    /// <remarks>
    /// With many instances no snapshot is saved (this instance's projection holds only its own entries), but idempotency keys are
    /// still pruned at the same pace: the shared key table would otherwise grow forever.
    /// </remarks>
    private void SaveSnapshot()
    {
        if (_sinceSnapshot == 0)
        {
            return;
        }

        try
        {
            if (_shared is null)
            {
                ValueTask save = _store.SaveSnapshotAsync(_projection.ToSnapshot(_lastSequence, _lastHash));
                if (!save.IsCompletedSuccessfully)
                {
                    save.AsTask().GetAwaiter().GetResult();
                }
            }

            _sinceSnapshot = 0;
            ValueTask prune = _store.PruneIdempotencyRecordsAsync(_time.GetUtcNow() - _idempotencyRetention);
            if (!prune.IsCompletedSuccessfully)
            {
                prune.AsTask().GetAwaiter().GetResult();
            }
        }
        catch (Exception ex)
        {
            // A snapshot only shortens start-up and pruning only saves space; the entries stay the truth, so a failure is logged, not fatal.
            LogSnapshotFailed(_logger, ex);
        }
    }

    /// <summary>Fails every durable wait, now and later: the completion is faulted and never replaced.</summary>
    private void FailWaiters(Exception ex) => Volatile.Read(ref _nextCommit).TrySetException(ex);

    [LoggerMessage(EventId = 100, Level = LogLevel.Error, Message = "Ledger append failed (attempt {Attempt}); the batch is kept and retried.")]
    private static partial void LogAppendFailed(ILogger logger, int attempt, Exception exception);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Ledger snapshot failed; start-up will replay more entries.")]
    private static partial void LogSnapshotFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 102, Level = LogLevel.Critical, Message = "Ledger entry {Sequence} does not fit the projection: {Problem}")]
    private static partial void LogProjectionProblem(ILogger logger, long sequence, string problem);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "The ledger store takes writes again after {Attempts} failed attempts.")]
    private static partial void LogStoreRecovered(ILogger logger, int attempts);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "The shared store cannot take the batch now; its {Count} entries are kept in the local outbox ({Waiting} batches wait there) and appended when the store returns.")]
    private static partial void LogSpilled(ILogger logger, int count, int waiting);

    [LoggerMessage(EventId = 106, Level = LogLevel.Error, Message = "The local outbox '{Directory}' cannot be written; the batch is kept in memory and retried (it is lost if the process stops before the store returns).")]
    private static partial void LogSpillFailed(ILogger logger, string directory, Exception ex);

    [LoggerMessage(EventId = 107, Level = LogLevel.Critical, Message = "The outbox file '{Path}' is damaged and cannot be appended; it is set aside (renamed '.damaged') so later batches go on. Its usage is not in the ledger: restore the file from a backup, or reconcile it by hand.")]
    private static partial void LogOutboxDamaged(ILogger logger, string path, Exception ex);

    [LoggerMessage(EventId = 103, Level = LogLevel.Critical, Message = "The ledger writer stopped.")]
    private static partial void LogWriterStopped(ILogger logger, Exception exception);

    private readonly record struct LedgerCommand(LedgerEntry Entry, List<LedgerEntry>? More, IdempotencyRecord? Record);
}
