using System.Buffers;

namespace UsageGuard;

/// <summary>
/// A buffer writer made of 1 MB segments rented from <see cref="ArrayPool{T}.Shared"/>: a part of the audit export (about 12 MB of
/// JSON) grows without copying and without allocating on the large object heap, whose churn triggered full collections.
/// </summary>
/// <remarks>Not thread-safe. <see cref="Clear"/> returns the segments to the pool.</remarks>
internal sealed class PooledSegments : IBufferWriter<byte>
{
    private const int SegmentSize = 1 << 20;
    private readonly List<(byte[] Array, int Used)> _full = [];
    private byte[]? _current;
    private int _used;

    /// <summary>Gets the number of bytes written.</summary>
    internal long WrittenCount { get; private set; }

    public void Advance(int count)
    {
        if (_current is null || count < 0 || _used + count > _current.Length)
        {
            throw new InvalidOperationException($"Cannot advance {count} bytes past the span handed out.");
        }

        _used += count;
        WrittenCount += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0) => Ensure(sizeHint).AsMemory(_used);

    public Span<byte> GetSpan(int sizeHint = 0) => Ensure(sizeHint).AsSpan(_used);

    /// <summary>Writes what was written to a stream, in order.</summary>
    internal async Task CopyToAsync(Stream output, CancellationToken cancellationToken)
    {
        foreach ((byte[] array, int used) in _full)
        {
            await output.WriteAsync(array.AsMemory(0, used), cancellationToken).ConfigureAwait(false);
        }

        if (_current is not null && _used > 0)
        {
            await output.WriteAsync(_current.AsMemory(0, _used), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Forgets what was written and returns every segment to the pool.</summary>
    internal void Clear()
    {
        foreach ((byte[] array, _) in _full)
        {
            ArrayPool<byte>.Shared.Return(array);
        }

        _full.Clear();
        if (_current is not null)
        {
            ArrayPool<byte>.Shared.Return(_current);
            _current = null;
        }

        _used = 0;
        WrittenCount = 0;
    }

    private byte[] Ensure(int sizeHint)
    {
        int needed = Math.Max(sizeHint, 1);
        if (_current is not null && _current.Length - _used >= needed)
        {
            return _current;
        }

        if (_current is not null)
        {
            _full.Add((_current, _used));
        }

        _current = ArrayPool<byte>.Shared.Rent(Math.Max(needed, SegmentSize));
        _used = 0;
        return _current;
    }
}
