using System.Buffers;

namespace UsageGuard.Tests.Metering;

/// <summary>A buffer writer that hands out exactly the room asked for, never more: a writer that asks for too little fails on it.</summary>
internal sealed class ExactBufferWriter : IBufferWriter<byte>
{
    private readonly List<byte> _written = [];
    private byte[] _current = [];

    public byte[] Written => [.. _written];

    public int LargestRequest { get; private set; }

    public void Advance(int count)
    {
        if (count > _current.Length)
        {
            throw new InvalidOperationException($"Advanced {count} bytes past the {_current.Length} handed out.");
        }

        _written.AddRange(_current.AsSpan(0, count));
        _current = [];
    }

    public Memory<byte> GetMemory(int sizeHint = 0) => Take(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => Take(sizeHint);

    private byte[] Take(int sizeHint)
    {
        LargestRequest = Math.Max(LargestRequest, sizeHint);
        _current = new byte[Math.Max(sizeHint, 1)];
        return _current;
    }
}
