using System.Runtime.CompilerServices;

namespace UsageGuard;

/// <summary>
/// Reads usage events in chunks of the sequence range, several chunks at once, and hands each chunk's result back in ledger order:
/// how the audit export uses every core (reading and formatting cost more than writing the file).
/// </summary>
/// <remarks>
/// <para>A chunk covers events whose record falls in its range, but begins reading a little earlier (<c>lookback</c> sequence
/// numbers): a settlement's block entries may precede the chunk. When the first event of a chunk still reaches back past what was
/// read, the chunk is read again from further back, up to the start of the whole read, so each event has the same blocks as a
/// sequential read would give it.</para>
/// <para>At most <c>parallelism + 1</c> chunks are being read at once, plus the one the consumer holds, so memory does not grow
/// with the ledger. When the consumer
/// stops early or fails, the chunks still running are cancelled and awaited before the enumeration ends.</para>
/// </remarks>
internal static class EventChunks
{
    /// <summary>The sequence numbers one chunk covers.</summary>
    internal const long DefaultChunk = 16_384;

    /// <summary>How far before its range a chunk begins reading, at first.</summary>
    internal const long DefaultLookback = 256;

    /// <summary>Reads the events recorded in (<paramref name="afterSequence"/>, <paramref name="throughSequence"/>] chunk by chunk.</summary>
    /// <param name="source">The store.</param>
    /// <param name="afterSequence">The sequence number to start after.</param>
    /// <param name="throughSequence">The last sequence number read.</param>
    /// <param name="create">Makes a chunk's state (on a worker thread).</param>
    /// <param name="add">Adds one event to a chunk's state (on that chunk's worker thread, in ledger order).</param>
    /// <param name="parallelism">How many chunks are read at once, besides the one waiting to be handed back (so <c>parallelism + 1</c> run).</param>
    /// <param name="chunk">The sequence numbers one chunk covers.</param>
    /// <param name="lookback">How far before its range a chunk begins reading, at first.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>Each chunk's state, in ledger order.</returns>
    internal static async IAsyncEnumerable<T> ReadAsync<T>(
        ISettlementEntrySource source,
        long afterSequence,
        long throughSequence,
        Func<T> create,
        Action<T, UsageEvent> add,
        int parallelism,
        long chunk = DefaultChunk,
        long lookback = DefaultLookback,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var running = new Queue<Task<T>>();
        long next = afterSequence;
        try
        {
            while (next < throughSequence || running.Count > 0)
            {
                while (next < throughSequence && running.Count <= parallelism)
                {
                    long from = next;
                    long through = next + Math.Min(chunk, throughSequence - next);
                    running.Enqueue(Task.Run(() => ChunkAsync(source, afterSequence, from, through, create, add, lookback, stop.Token), stop.Token));
                    next = through;
                }

                yield return await running.Dequeue().ConfigureAwait(false);
            }
        }
        finally
        {
            if (running.Count > 0)
            {
                await stop.CancelAsync().ConfigureAwait(false);
                foreach (Task<T> task in running)
                {
                    try
                    {
                        await task.ConfigureAwait(false);
                    }
                    catch (Exception)
                    {
                        // Abandoned: the enumeration already ended for another reason (its exception, if any, is the one that counts).
                    }
                }
            }
        }
    }

    private static async Task<T> ChunkAsync<T>(ISettlementEntrySource source, long start, long from, long through, Func<T> create, Action<T, UsageEvent> add, long lookback, CancellationToken cancellationToken)
    {
        T state = create();
        long back = lookback;
        while (true)
        {
            long readFrom = Math.Max(start, from - back);
            var assembler = new EventAssembler();
            bool reread = false;
            await foreach (LedgerEntry entry in source.ReadSettlementEntriesAsync(readFrom, through, cancellationToken).ConfigureAwait(false))
            {
                if (assembler.Add(entry) is not { } e || e.Sequence <= from)
                {
                    continue;
                }

                if (assembler.LastMayBeShort && readFrom > start)
                {
                    // Only a chunk's first event can be short, so nothing was added yet: read again from further back.
                    reread = true;
                    break;
                }

                add(state, e);
            }

            if (!reread)
            {
                return state;
            }

            back = checked(back * 16);
        }
    }
}
