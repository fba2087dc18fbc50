using System.Threading.Channels;

namespace UsageGuard;

/// <summary>
/// A bounded, lock-free, many-writers/one-reader channel: the ledger writer's queue.
/// </summary>
/// <remarks>
/// <para>The built-in channels take a short lock on every write; this one does not, so a settlement queues its entries
/// without a lock (Dmitry Vyukov's bounded queue: each slot carries a sequence number that says whose turn it is).
/// A writer claims a position with one CAS, fills the slot, then publishes it by advancing the slot's sequence.</para>
/// <para>Completion sets a bit in the claim counter with the same CAS, so no position can be claimed after it and the
/// reader knows exactly which positions it still has to wait for: nothing written before completion is lost.</para>
/// <para><see cref="ChannelReader{T}.WaitToReadAsync"/> and <see cref="ChannelWriter{T}.WaitToWriteAsync"/> poll with a short
/// delay; the ledger writer uses <c>TryRead</c> with its own wake-up event and never calls them.</para>
/// </remarks>
/// <typeparam name="T">The item type.</typeparam>
internal sealed class LedgerQueue<T> : Channel<T>
{
    private const long ClosedBit = 1L << 62;

    private readonly Slot[] _slots;
    private readonly long _mask;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PaddedLong _enqueue;
    private PaddedLong _dequeue;

    internal LedgerQueue(int capacity)
    {
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, capacity));
        _slots = new Slot[size];
        _mask = size - 1;
        for (int i = 0; i < size; i++)
        {
            _slots[i].Sequence = i;
        }

        Reader = new QueueReader(this);
        Writer = new QueueWriter(this);
    }

    /// <summary>Gets how many items were ever claimed: every position below it is, or will be, in the queue.</summary>
    internal long Claimed => Volatile.Read(ref _enqueue.Value) & ~ClosedBit;

    /// <summary>Gets how many items the reader has taken: positions are read in order, so every position below it.</summary>
    internal long Dequeued => Volatile.Read(ref _dequeue.Value);

    private bool TryEnqueue(T item) => TryEnqueue(item, out _);

    /// <summary>Queues an item and says at which position: items are read in position order, from 0.</summary>
    internal bool TryEnqueue(T item, out long claimed)
    {
        long position = Volatile.Read(ref _enqueue.Value);
        while (true)
        {
            claimed = position;
            if ((position & ClosedBit) != 0)
            {
                return false;
            }

            ref Slot slot = ref _slots[position & _mask];
            long difference = Volatile.Read(ref slot.Sequence) - position;
            if (difference == 0)
            {
                long seen = Interlocked.CompareExchange(ref _enqueue.Value, position + 1, position);
                if (seen == position)
                {
                    slot.Item = item;
                    Volatile.Write(ref slot.Sequence, position + 1);
                    return true;
                }

                position = seen;
            }
            else if (difference < 0)
            {
                // The reader has not freed this slot yet: the queue is full.
                return false;
            }
            else
            {
                position = Volatile.Read(ref _enqueue.Value);
            }
        }
    }

    private bool TryDequeue(out T item)
    {
        long position = _dequeue.Value;
        ref Slot slot = ref _slots[position & _mask];
        var spinner = default(SpinWait);
        while (Volatile.Read(ref slot.Sequence) != position + 1)
        {
            long claimed = Volatile.Read(ref _enqueue.Value) & ~ClosedBit;
            if (claimed == position)
            {
                if ((Volatile.Read(ref _enqueue.Value) & ClosedBit) != 0)
                {
                    _completion.TrySetResult();
                }

                item = default!;
                return false;
            }

            // Claimed but not yet published: the writer is between its CAS and its publish, a few instructions away.
            spinner.SpinOnce(sleep1Threshold: -1);
        }

        item = slot.Item;
        slot.Item = default!;
        Volatile.Write(ref slot.Sequence, position + _mask + 1);
        Volatile.Write(ref _dequeue.Value, position + 1);
        return true;
    }

    private bool HasItem() => Volatile.Read(ref _slots[_dequeue.Value & _mask].Sequence) == _dequeue.Value + 1;

    private bool TryCompleteWriting()
    {
        long position = Volatile.Read(ref _enqueue.Value);
        while ((position & ClosedBit) == 0)
        {
            long seen = Interlocked.CompareExchange(ref _enqueue.Value, position | ClosedBit, position);
            if (seen == position)
            {
                if (Volatile.Read(ref _dequeue.Value) == position)
                {
                    _completion.TrySetResult();
                }

                return true;
            }

            position = seen;
        }

        return false;
    }

    private bool IsClosed => (Volatile.Read(ref _enqueue.Value) & ClosedBit) != 0;

    private struct Slot
    {
        public long Sequence;
        public T Item;
    }

    private sealed class QueueReader(LedgerQueue<T> queue) : ChannelReader<T>
    {
        public override Task Completion => queue._completion.Task;

        public override bool CanPeek => true;

        public override bool TryRead(out T item) => queue.TryDequeue(out item);

        public override bool TryPeek(out T item)
        {
            if (queue.HasItem())
            {
                item = queue._slots[queue._dequeue.Value & queue._mask].Item;
                return true;
            }

            item = default!;
            return false;
        }

        public override async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
        {
            while (!queue.HasItem())
            {
                if (queue.IsClosed && !queue.TryPeekClaimed())
                {
                    return false;
                }

                await Task.Delay(1, cancellationToken).ConfigureAwait(false);
            }

            return true;
        }
    }

    private bool TryPeekClaimed() => (Volatile.Read(ref _enqueue.Value) & ~ClosedBit) != Volatile.Read(ref _dequeue.Value);

    private sealed class QueueWriter(LedgerQueue<T> queue) : ChannelWriter<T>
    {
        public override bool TryWrite(T item) => queue.TryEnqueue(item);

        public override bool TryComplete(Exception? error = null) => queue.TryCompleteWriting();

        public override async ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default)
        {
            while (!queue.IsClosed)
            {
                long position = Volatile.Read(ref queue._enqueue.Value) & ~ClosedBit;
                if (Volatile.Read(ref queue._slots[position & queue._mask].Sequence) - position >= 0)
                {
                    return true;
                }

                await Task.Delay(1, cancellationToken).ConfigureAwait(false);
            }

            return false;
        }
    }
}
