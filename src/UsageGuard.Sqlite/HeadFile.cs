using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace UsageGuard.Sqlite;

/// <summary>
/// A 64-byte side file holding the database id, sequence number and hash of the newest committed entry, rewritten in
/// place after each commit.
/// </summary>
/// <remarks>
/// It is written after the commit and not flushed: after a crash it can only lag the database (never lead it), so it
/// never raises a false alarm; it exists to catch the opposite, a database that lost committed transactions.
/// A torn or damaged head fails its checksum and is ignored. The file is held with an exclusive lock while the store is
/// open (released by the OS when the process dies), which keeps a second writer off the database.
/// </remarks>
internal sealed class HeadFile : IDisposable
{
    private const int Size = 64;
    private readonly SafeFileHandle _handle;
    private readonly byte[] _buffer = new byte[Size];

    /// <summary>Opens the head file and locks it for this store: a second store on the same database, in this process or another, is refused.</summary>
    /// <exception cref="IOException">Another store holds the lock.</exception>
    internal HeadFile(string path)
    {
        Path = path;
        _handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
    }

    internal string Path { get; }

    internal Head? Read()
    {
        Span<byte> bytes = stackalloc byte[Size];
        if (RandomAccess.Read(_handle, bytes, 0) != Size
            || BinaryPrimitives.ReadUInt64LittleEndian(bytes[56..]) != Checksum(bytes[..56]))
        {
            return null;
        }

        return new Head(new Guid(bytes[..16]), BinaryPrimitives.ReadInt64LittleEndian(bytes[16..]), LedgerHash.FromBytes(bytes[24..56]));
    }

    internal void Write(Guid databaseId, long sequence, LedgerHash hash)
    {
        Span<byte> bytes = _buffer;
        databaseId.TryWriteBytes(bytes);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[16..], sequence);
        hash.CopyTo(bytes[24..]);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[56..], Checksum(bytes[..56]));
        RandomAccess.Write(_handle, bytes, 0);
    }

    public void Dispose() => _handle.Dispose();

    private static ulong Checksum(ReadOnlySpan<byte> bytes)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(bytes, digest);
        return BinaryPrimitives.ReadUInt64LittleEndian(digest);
    }

    internal readonly record struct Head(Guid DatabaseId, long Sequence, LedgerHash Hash);
}
