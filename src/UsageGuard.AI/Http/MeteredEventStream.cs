using System.Buffers;

namespace UsageGuard.AI;

/// <summary>
/// The body of a streamed chat completion (server-sent events), passed through to the caller byte for byte as it arrives, while its
/// <c>data:</c> events are read for the usage, the answering model and the text generated. Settles its call once: at the end of the
/// body, when disposed before it, or when reading fails.
/// </summary>
/// <remarks>
/// Only the event being received is buffered, never the stream. Lines end with <c>\n</c> or <c>\r\n</c>; an event's data lines are
/// joined with <c>\n</c> and read when the blank line that ends it arrives (or the body ends). An event larger than
/// <see cref="MaxEventBytes"/> is passed through but not read. Like any stream, not safe for concurrent reads.
/// </remarks>
internal sealed class MeteredEventStream : Stream
{
    /// <summary>The largest event read; usage chunks are a few hundred bytes, text deltas smaller still.</summary>
    internal const int MaxEventBytes = 1 << 20;

    private readonly Stream _inner;
    private readonly HttpContent _innerContent;
    private readonly GuardedHttpCall _call;
    private readonly CompletionReport _report = new();
    private byte[] _line = [];
    private int _lineLength;
    private bool _lineTooLong;
    private byte[] _event = [];
    private int _eventLength;
    private bool _eventHasData;
    private bool _eventTooLong;
    private bool _ended;
    private int _disposed;

    /// <summary>Initializes a new instance of the <see cref="MeteredEventStream"/> class.</summary>
    /// <param name="inner">The body as the provider sends it.</param>
    /// <param name="innerContent">The content <paramref name="inner"/> came from, disposed with this stream.</param>
    /// <param name="call">The call to settle.</param>
    public MeteredEventStream(Stream inner, HttpContent innerContent, GuardedHttpCall call)
    {
        _inner = inner;
        _innerContent = innerContent;
        _call = call;
    }

    /// <inheritdoc />
    public override bool CanRead => _disposed == 0;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        int read;
        try
        {
            read = _inner.Read(buffer);
        }
        catch (Exception)
        {
            GuardedHttpCall.Wait(_call.EndAsync(_report, completed: false, failed: true));
            throw;
        }

        // A zero-byte read into an empty buffer waits for data; only a read into a real buffer that returns nothing is the end.
        if (!buffer.IsEmpty && Observe(buffer[..read]))
        {
            GuardedHttpCall.Wait(_call.EndAsync(_report, completed: true, failed: false));
        }

        return read;
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        int read;
        try
        {
            read = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            await _call.EndAsync(_report, completed: false, failed: true).ConfigureAwait(false);
            throw;
        }

        if (!buffer.IsEmpty && Observe(buffer.Span[..read]))
        {
            await _call.EndAsync(_report, completed: true, failed: false).ConfigureAwait(false);
        }

        return read;
    }

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            try
            {
                await _inner.DisposeAsync().ConfigureAwait(false);
                _innerContent.Dispose();
            }
            finally
            {
                ReturnBuffers();
                await _call.EndAsync(_report, completed: _ended || _report.Done, failed: false).ConfigureAwait(false);
            }
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            try
            {
                _inner.Dispose();
                _innerContent.Dispose();
            }
            finally
            {
                ReturnBuffers();

                // Disposed before the end (a caller that broke off): what was produced is charged, from the estimate when no usage came.
                GuardedHttpCall.Wait(_call.EndAsync(_report, completed: _ended || _report.Done, failed: false));
            }
        }

        base.Dispose(disposing);
    }

    /// <summary>Reads the bytes just passed through; at the end of the body (zero bytes), reads what is left.</summary>
    /// <returns><see langword="true"/> when the body has ended.</returns>
    private bool Observe(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            if (_ended)
            {
                return false;
            }

            _ended = true;
            if (_lineLength > 0)
            {
                OnLine(_line.AsSpan(0, _lineLength));
            }

            DispatchEvent();
            return true;
        }

        while (!data.IsEmpty)
        {
            int newline = data.IndexOf((byte)'\n');
            if (newline < 0)
            {
                Append(ref _line, ref _lineLength, ref _lineTooLong, data);
                return false;
            }

            ReadOnlySpan<byte> piece = data[..newline];
            data = data[(newline + 1)..];
            if (_lineLength == 0 && !_lineTooLong)
            {
                OnLine(piece);
                continue;
            }

            Append(ref _line, ref _lineLength, ref _lineTooLong, piece);
            if (!_lineTooLong)
            {
                OnLine(_line.AsSpan(0, _lineLength));
            }

            _lineLength = 0;
            _lineTooLong = false;
        }

        return false;
    }

    private void OnLine(ReadOnlySpan<byte> line)
    {
        if (!line.IsEmpty && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        if (line.IsEmpty)
        {
            DispatchEvent();
            return;
        }

        // Other fields (event:, id:, retry:) and comments (:) carry nothing to meter.
        if (!line.StartsWith("data:"u8))
        {
            return;
        }

        ReadOnlySpan<byte> value = line[5..];
        if (!value.IsEmpty && value[0] == (byte)' ')
        {
            value = value[1..];
        }

        if (_eventHasData)
        {
            Append(ref _event, ref _eventLength, ref _eventTooLong, "\n"u8);
        }

        Append(ref _event, ref _eventLength, ref _eventTooLong, value);
        _eventHasData = true;
    }

    private void DispatchEvent()
    {
        if (_eventHasData && !_eventTooLong)
        {
            ReadOnlySpan<byte> data = _event.AsSpan(0, _eventLength);
            if (data.SequenceEqual("[DONE]"u8))
            {
                _report.Done = true;
            }
            else
            {
                _report.Read(data);
            }
        }

        _eventLength = 0;
        _eventHasData = false;
        _eventTooLong = false;
    }

    private static void Append(ref byte[] buffer, ref int length, ref bool tooLong, ReadOnlySpan<byte> data)
    {
        if (tooLong || data.IsEmpty)
        {
            return;
        }

        if (data.Length > MaxEventBytes - length)
        {
            tooLong = true;
            return;
        }

        if (buffer.Length - length < data.Length)
        {
            byte[] grown = ArrayPool<byte>.Shared.Rent(Math.Max(length + data.Length, Math.Max(256, buffer.Length * 2)));
            buffer.AsSpan(0, length).CopyTo(grown);
            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            buffer = grown;
        }

        data.CopyTo(buffer.AsSpan(length));
        length += data.Length;
    }

    private void ReturnBuffers()
    {
        if (_line.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_line);
        }

        if (_event.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_event);
        }

        _line = [];
        _event = [];
        _lineLength = 0;
        _eventLength = 0;
    }
}
