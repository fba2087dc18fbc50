using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace UsageGuard;

/// <summary>
/// Delivers a ledger's usage events to one sink, at least once, in ledger order: the ledger is the durable outbox, and the sink's
/// cursor (a file) says how far it got.
/// </summary>
/// <remarks>
/// <para>An event is in the ledger as soon as its settlement is committed, so nothing that was acknowledged can be lost before it is
/// exported. The cursor moves only after the sink took a whole batch; a sink that throws gets the same batch again after a back-off
/// (doubling from <see cref="UsageExportOptions.RetryDelay"/> to <see cref="UsageExportOptions.MaxRetryDelay"/>), and a crash sends the
/// batch in flight again. Ids are stable, so a sink that deduplicates by id receives each event exactly once.</para>
/// <para>With many instances on one PostgreSQL store, run one export per sink (one instance, or a worker of its own): every instance reads
/// the whole ledger, and two exports of one sink would each send every event.</para>
/// <para>Not thread-safe: one caller runs it.</para>
/// </remarks>
public sealed partial class UsageExport
{
    private readonly ILedgerStore _store;
    private readonly IUsageExporter _sink;
    private readonly UsageExportOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ExportCursor _cursor;

    /// <summary>Initializes a new instance of the <see cref="UsageExport"/> class.</summary>
    /// <param name="store">The ledger store to read events from.</param>
    /// <param name="sink">The sink.</param>
    /// <param name="options">The options.</param>
    /// <param name="time">The clock for back-off and polling; <see langword="null"/> for the system clock.</param>
    /// <param name="logger">The logger; <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="store"/>, <paramref name="sink"/> or <paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is out of range, or the sink's name cannot name a file.</exception>
    public UsageExport(ILedgerStore store, IUsageExporter sink, UsageExportOptions options, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _store = store;
        _sink = sink;
        _options = options;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _cursor = new ExportCursor(options.CursorDirectory, sink.Name);
        Position = _cursor.Read();
    }

    /// <summary>Gets the sequence number of the last event the sink took (0 before the first).</summary>
    public long Position { get; private set; }

    /// <summary>Delivers every event committed after <see cref="Position"/>, batch by batch, retrying a refused batch until the sink takes it.</summary>
    /// <param name="cancellationToken">Stops the export between or during retries; what was delivered stays delivered.</param>
    /// <returns>The number of events the sink took.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<long> ExportPendingAsync(CancellationToken cancellationToken = default)
    {
        long delivered = 0;
        var batch = new List<UsageEvent>(_options.BatchSize);
        while (true)
        {
            // The read ends before the batch is delivered: a sink that is down for an hour must not hold a read open on the store.
            await foreach (UsageEvent e in UsageEvents.ReadAsync(_store, Position, cancellationToken).ConfigureAwait(false))
            {
                batch.Add(e);
                if (batch.Count == _options.BatchSize)
                {
                    break;
                }
            }

            if (batch.Count == 0)
            {
                return delivered;
            }

            bool full = batch.Count == _options.BatchSize;
            delivered += await DeliverAsync(batch, cancellationToken).ConfigureAwait(false);
            if (!full)
            {
                return delivered;
            }
        }
    }

    /// <summary>Exports until cancelled: whatever is pending, then again every <see cref="UsageExportOptions.PollInterval"/>.</summary>
    /// <param name="cancellationToken">Stops the export.</param>
    /// <returns>A task that completes when the export stops.</returns>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await ExportPendingAsync(cancellationToken).ConfigureAwait(false);
                await Task.Delay(_options.PollInterval, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The store could not be read (not the sink: it is retried inside); try again after a poll interval.
                LogReadFailed(_logger, _sink.Name, ex);
                await Task.Delay(_options.PollInterval, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<int> DeliverAsync(List<UsageEvent> batch, CancellationToken cancellationToken)
    {
        int attempt = 0;
        while (true)
        {
            try
            {
                await _sink.ExportAsync(batch, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                attempt++;
                TimeSpan delay = TimeSpan.FromTicks(Math.Min(_options.MaxRetryDelay.Ticks, _options.RetryDelay.Ticks << Math.Min(attempt - 1, 20)));
                LogSinkFailed(_logger, _sink.Name, batch.Count, batch[0].Sequence, attempt, delay, ex);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }

        long last = batch[^1].Sequence;
        _cursor.Write(last);
        Position = last;
        int count = batch.Count;
        batch.Clear();
        return count;
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "Usage export to '{Sink}': the sink refused a batch of {Count} events from sequence {FirstSequence} (try {Attempt}); the same batch goes again in {Backoff}.")]
    private static partial void LogSinkFailed(ILogger logger, string sink, int count, long firstSequence, int attempt, TimeSpan backoff, Exception exception);

    [LoggerMessage(EventId = 401, Level = LogLevel.Warning, Message = "Usage export to '{Sink}': the ledger store could not be read; trying again after the poll interval.")]
    private static partial void LogReadFailed(ILogger logger, string sink, Exception exception);
}
