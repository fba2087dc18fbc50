using System.Text.Json;

namespace UsageGuard;

/// <summary>A sink that appends usage events to a JSON Lines file (one <see cref="UsageEventJson"/> object per line), flushed to disk per batch.</summary>
/// <remarks>
/// <para>A batch sent again after a crash is appended again: readers deduplicate by <c>id</c>. A line cut off by a crash (no final
/// newline) is removed when the sink opens the file, so the file always parses line by line.</para>
/// <para>Not thread-safe; dispose it to close the file.</para>
/// </remarks>
public sealed class JsonLinesFileExporter : IUsageExporter, IDisposable
{
    private readonly FileStream _file;
    private readonly Utf8JsonWriter _writer;

    /// <summary>Initializes a new instance of the <see cref="JsonLinesFileExporter"/> class, opening (or creating) the file to append to.</summary>
    /// <param name="path">The file.</param>
    /// <param name="name">The sink's name (names its cursor).</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> or <paramref name="name"/> is null or empty.</exception>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    public JsonLinesFileExporter(string path, string name = "jsonl")
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Path = path;
        _file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
        TrimTornLine(_file);
        _writer = new Utf8JsonWriter(_file, new JsonWriterOptions { SkipValidation = true });
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>Gets the file's path.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public ValueTask ExportAsync(IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        for (int i = 0; i < events.Count; i++)
        {
            UsageEventJson.Write(_writer, events[i]);
            _writer.Flush();
            _writer.Reset();
            _file.WriteByte((byte)'\n');
        }

        _file.Flush(flushToDisk: true);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _writer.Dispose();
        _file.Dispose();
    }

    /// <summary>Cuts the file back to its last newline: a line a crash cut off is dropped, and the batch it was in is sent again.</summary>
    private static void TrimTornLine(FileStream file)
    {
        long length = file.Length;
        long end = length;
        Span<byte> one = stackalloc byte[1];
        while (end > 0)
        {
            file.Position = end - 1;
            file.ReadExactly(one);
            if (one[0] == (byte)'\n')
            {
                break;
            }

            end--;
        }

        if (end != length)
        {
            file.SetLength(end);
            file.Flush(flushToDisk: true);
        }

        file.Position = end;
    }
}
