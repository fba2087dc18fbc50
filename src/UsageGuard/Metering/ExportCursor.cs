using System.Globalization;

namespace UsageGuard;

/// <summary>A sink's position in the ledger: the sequence of the last event it took, kept in a file replaced atomically.</summary>
/// <remarks>
/// Written to a temporary file, flushed to disk, then moved over the old one, so a crash leaves either the old position or the new one,
/// never a torn file. The old position only makes the batch in flight be sent again, which a sink that deduplicates by id drops.
/// </remarks>
internal sealed class ExportCursor
{
    private readonly string _path;

    internal ExportCursor(string directory, string sinkName)
    {
        if (string.IsNullOrWhiteSpace(sinkName) || sinkName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || sinkName.StartsWith('.'))
        {
            throw new ArgumentException($"The sink name '{sinkName}' cannot name a cursor file; use letters, digits, '-' and '_'.", nameof(sinkName));
        }

        Directory.CreateDirectory(directory);
        _path = Path.Combine(directory, sinkName + ".cursor");
    }

    internal long Read()
    {
        if (!File.Exists(_path))
        {
            return 0;
        }

        string text = File.ReadAllText(_path).Trim();
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long sequence)
            ? sequence
            : throw new UsageGuardException($"The export cursor '{_path}' does not hold a sequence number ('{text}'). Restore it, or delete it to export every event again.");
    }

    internal void Write(long sequence)
    {
        string temporary = _path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(System.Text.Encoding.ASCII.GetBytes(sequence.ToString(CultureInfo.InvariantCulture)));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, _path, overwrite: true);
    }
}
