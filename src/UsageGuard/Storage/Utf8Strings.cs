using System.Text;

namespace UsageGuard;

/// <summary>
/// Strings by their UTF-8 bytes, decoded once: a reader of many rows gets the same instance for the same customer, credit type,
/// subject, model or feature instead of decoding and allocating it on every row.
/// </summary>
/// <remarks>Holds at most <see cref="Limit"/> strings; past it, new values are decoded without being kept. Not thread-safe: one per reader.</remarks>
internal sealed class Utf8Strings
{
    /// <summary>The most strings kept.</summary>
    internal const int Limit = 4096;

    private readonly Dictionary<byte[], string> _strings = new(Utf8Comparer.Instance);
    private readonly Dictionary<byte[], string>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    internal Utf8Strings() => _lookup = _strings.GetAlternateLookup<ReadOnlySpan<byte>>();

    /// <summary>Gets the string these UTF-8 bytes encode.</summary>
    internal string Get(ReadOnlySpan<byte> utf8)
    {
        if (_lookup.TryGetValue(utf8, out string? value))
        {
            return value;
        }

        value = Encoding.UTF8.GetString(utf8);
        if (_strings.Count < Limit)
        {
            _lookup[utf8] = value;
        }

        return value;
    }

    private sealed class Utf8Comparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        internal static readonly Utf8Comparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var hash = default(HashCode);
            hash.AddBytes(alternate);
            return hash.ToHashCode();
        }

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
