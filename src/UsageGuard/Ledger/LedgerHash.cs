using System.Buffers.Binary;

namespace UsageGuard;

/// <summary>A SHA-256 digest that chains a ledger entry to the one before it.</summary>
/// <remarks>Immutable and thread-safe.</remarks>
public readonly struct LedgerHash : IEquatable<LedgerHash>
{
    /// <summary>The size of the digest in bytes.</summary>
    public const int Size = 32;

    private readonly ulong _a;
    private readonly ulong _b;
    private readonly ulong _c;
    private readonly ulong _d;

    private LedgerHash(ulong a, ulong b, ulong c, ulong d)
    {
        _a = a;
        _b = b;
        _c = c;
        _d = d;
    }

    /// <summary>Gets the all-zero hash that the first entry chains to.</summary>
    public static LedgerHash Genesis => default;

    /// <summary>Reads a hash from 32 bytes.</summary>
    /// <param name="bytes">The digest.</param>
    /// <returns>The hash.</returns>
    /// <exception cref="ArgumentException"><paramref name="bytes"/> is not 32 bytes long.</exception>
    public static LedgerHash FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException($"A ledger hash is {Size} bytes; got {bytes.Length}.", nameof(bytes));
        }

        return new LedgerHash(
            BinaryPrimitives.ReadUInt64BigEndian(bytes),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]));
    }

    /// <summary>Parses the 64-character hexadecimal form written by <see cref="ToString"/>.</summary>
    /// <param name="hex">The hexadecimal digest.</param>
    /// <returns>The hash.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="hex"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException"><paramref name="hex"/> is not 64 hexadecimal characters.</exception>
    public static LedgerHash Parse(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        if (hex.Length != Size * 2)
        {
            throw new FormatException($"A ledger hash is {Size * 2} hexadecimal characters; got {hex.Length}.");
        }

        return FromBytes(Convert.FromHexString(hex));
    }

    /// <summary>Writes the 32 bytes of the digest.</summary>
    /// <param name="destination">At least 32 bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than 32 bytes.</exception>
    public void CopyTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException($"A ledger hash needs {Size} bytes.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, _a);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _d);
    }

    /// <inheritdoc />
    public bool Equals(LedgerHash other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is LedgerHash other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_a, _b, _c, _d);

    /// <summary>Tests two hashes for equality.</summary>
    /// <param name="left">The first hash.</param>
    /// <param name="right">The second hash.</param>
    /// <returns><see langword="true"/> when equal.</returns>
    public static bool operator ==(LedgerHash left, LedgerHash right) => left.Equals(right);

    /// <summary>Tests two hashes for inequality.</summary>
    /// <param name="left">The first hash.</param>
    /// <param name="right">The second hash.</param>
    /// <returns><see langword="true"/> when different.</returns>
    public static bool operator !=(LedgerHash left, LedgerHash right) => !left.Equals(right);

    /// <summary>Formats the digest as 64 lowercase hexadecimal characters.</summary>
    /// <returns>The hexadecimal digest.</returns>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Size];
        CopyTo(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
