using System.Buffers;
using System.Text.Json;

namespace UsageGuard;

/// <summary>
/// Reads and writes the cache file of a remote catalog source: a small JSON envelope
/// (<c>{ "format": 1, "etag": …, "savedAt": …, "catalog": { … } }</c>) around the catalog's JSON form.
/// </summary>
internal static class CatalogCacheFile
{
    /// <summary>The envelope's format number; a file of another format is not read.</summary>
    internal const int Format = 1;

    /// <summary>Reads the file; returns <see langword="null"/> when there is none.</summary>
    /// <exception cref="IOException">The file could not be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    /// <exception cref="JsonException">The file is not JSON, or its catalog is not a catalog.</exception>
    /// <exception cref="InvalidDataException">The file is JSON but not an envelope of this format.</exception>
    internal static CatalogCacheEntry? Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        return Parse(bytes);
    }

    /// <summary>Parses an envelope.</summary>
    /// <exception cref="JsonException">The bytes are not JSON, or the catalog is not a catalog.</exception>
    /// <exception cref="InvalidDataException">The JSON is not an envelope of this format.</exception>
    internal static CatalogCacheEntry Parse(ReadOnlyMemory<byte> bytes)
    {
        using JsonDocument document = JsonDocument.Parse(bytes);
        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException("it is not a JSON object");
        }

        if (!root.TryGetProperty("format", out JsonElement format) || format.ValueKind != JsonValueKind.Number || !format.TryGetInt32(out int number) || number != Format)
        {
            throw new InvalidDataException($"it has no \"format\": {Format}");
        }

        if (!root.TryGetProperty("catalog", out JsonElement catalogElement) || catalogElement.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException("it has no \"catalog\" object");
        }

        string? etag = root.TryGetProperty("etag", out JsonElement etagElement) && etagElement.ValueKind == JsonValueKind.String ? etagElement.GetString() : null;
        DateTimeOffset savedAt = root.TryGetProperty("savedAt", out JsonElement savedElement) && savedElement.ValueKind == JsonValueKind.String && savedElement.TryGetDateTimeOffset(out DateTimeOffset at)
            ? at
            : DateTimeOffset.MinValue;
        CatalogOptions catalog = catalogElement.Deserialize(CatalogJson.Default.CatalogOptions)
            ?? throw new InvalidDataException("its \"catalog\" is null");
        return new CatalogCacheEntry(catalog, etag, savedAt);
    }

    /// <summary>Writes an envelope to bytes (indented, for the people who open the file during an outage).</summary>
    internal static byte[] Serialize(CatalogCacheEntry entry)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("format", Format);
            if (entry.ETag is null)
            {
                writer.WriteNull("etag");
            }
            else
            {
                writer.WriteString("etag", entry.ETag);
            }

            writer.WriteString("savedAt", entry.SavedAt);
            writer.WritePropertyName("catalog");
            JsonSerializer.Serialize(writer, entry.Catalog, CatalogJson.Default.CatalogOptions);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Replaces the file atomically: the envelope is written and flushed to a new file beside it, which is then moved over it.</summary>
    /// <remarks>A reader, or a crash at any point, sees the old file or the new one, never a part of one; the directory is created when missing.</remarks>
    internal static async Task WriteAsync(string path, CatalogCacheEntry entry, CancellationToken cancellationToken)
    {
        byte[] bytes = Serialize(entry);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);

        // A name of its own, so that two processes sharing the file never write into each other's temporary file.
        string temporary = $"{full}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0, FileOptions.Asynchronous))
            {
                await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a stray temporary file is harmless, as nothing reads it.
        }
    }
}
