using System.Buffers;
using System.Text;

namespace UsageGuard;

/// <summary>
/// The compact binary form of a settlement record, as the SQLite store keeps it: a fifth of the JSON's size, decoded without parsing
/// text. The audit export reads one per event, so this is most of what reading an event costs after SQLite itself.
/// </summary>
/// <remarks>
/// <para>Layout (version 1): the version byte <c>1</c>; a flags byte (1 estimated, 2 tokens, 4 price, 8 vendor cost, 16 answered model,
/// 32 subject path, 64 cost currency); the scale; the admission instant's UTC ticks and offset minutes; charged, overdrawn, overage
/// and waived units; then, as flagged, the four token counts, price and vendor cost (each <see cref="decimal.GetBits(decimal)"/>, 16
/// bytes), and the strings (length, then UTF-8). Integers are LEB128 varints, signed ones zigzag-encoded.</para>
/// <para>A JSON record starts with <c>{</c>, never with byte 1, so <see cref="Decode"/> reads either: a ledger written before the
/// binary form still reads.</para>
/// </remarks>
internal static class SettlementBinary
{
    private const byte Version = 1;
    private const byte Estimated = 1, HasTokens = 2, HasPrice = 4, HasVendorCost = 8, HasAnsweredModel = 16, HasSubjectPath = 32, HasCostCurrency = 64;

    /// <summary>Encodes a settlement record.</summary>
    internal static byte[] Encode(in SettlementRecord r)
    {
        var output = new ArrayBufferWriter<byte>(64);
        Encode(r, output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Encodes a settlement record after what <paramref name="output"/> holds (a writer reuses one buffer).</summary>
    internal static void Encode(in SettlementRecord r, ArrayBufferWriter<byte> output)
    {
        byte flags = (byte)((r.Estimated ? Estimated : 0) | (r.Tokens is null ? 0 : HasTokens) | (r.Price is null ? 0 : HasPrice)
            | (r.VendorCost is null ? 0 : HasVendorCost) | (r.AnsweredModel is null ? 0 : HasAnsweredModel)
            | (r.SubjectPath is null ? 0 : HasSubjectPath) | (r.CostCurrency is null ? 0 : HasCostCurrency));
        output.Write([Version, flags, (byte)r.Charged.Scale]);
        Unsigned(output, (ulong)r.AdmittedAt.UtcTicks);
        Signed(output, (long)r.AdmittedAt.Offset.TotalMinutes);
        Signed(output, r.Charged.Units);
        Signed(output, r.Overdrawn.Units);
        Signed(output, r.Overage.Units);
        Signed(output, r.Waived.Units);
        if (r.Tokens is { } t)
        {
            Signed(output, t.InputTokens);
            Signed(output, t.CachedInputTokens);
            Signed(output, t.OutputTokens);
            Signed(output, t.ReasoningTokens);
        }

        Decimal(output, r.Price);
        Decimal(output, r.VendorCost);
        Text(output, r.AnsweredModel);
        Text(output, r.SubjectPath);
        Text(output, r.CostCurrency);
    }

    /// <summary>Decodes a settlement record, binary or JSON; <paramref name="strings"/> shares repeated strings across the records of one read (null: none).</summary>
    /// <exception cref="FormatException">The binary form is cut short or of an unknown version.</exception>
    /// <exception cref="System.Text.Json.JsonException">The JSON form is not a settlement record.</exception>
    /// <exception cref="ArgumentException">A value breaks its rules (a scale out of range, a decimal's bits).</exception>
    internal static SettlementRecord Decode(ReadOnlySpan<byte> bytes, Utf8Strings? strings)
    {
        if (!bytes.IsEmpty && bytes[0] == (byte)'{')
        {
            return SettlementJson.Decode(bytes, strings ?? new Utf8Strings());
        }

        if (bytes.Length < 3 || bytes[0] != Version)
        {
            throw new FormatException(bytes.IsEmpty ? "a settlement record is empty" : $"a settlement record has the unknown format {bytes[0]}");
        }

        byte flags = bytes[1];
        int scale = bytes[2];
        int at = 3;
        long ticks = (long)Unsigned(bytes, ref at);
        long offset = Signed(bytes, ref at);
        long charged = Signed(bytes, ref at), overdrawn = Signed(bytes, ref at), overage = Signed(bytes, ref at), waived = Signed(bytes, ref at);
        TokenUsage? tokens = (flags & HasTokens) == 0 ? null
            : new TokenUsage(Signed(bytes, ref at), Signed(bytes, ref at), Signed(bytes, ref at), Signed(bytes, ref at));
        decimal? price = (flags & HasPrice) == 0 ? null : Decimal(bytes, ref at);
        decimal? vendorCost = (flags & HasVendorCost) == 0 ? null : Decimal(bytes, ref at);
        string? answeredModel = (flags & HasAnsweredModel) == 0 ? null : Text(bytes, ref at, strings);
        string? subjectPath = (flags & HasSubjectPath) == 0 ? null : Text(bytes, ref at, strings);
        string? costCurrency = (flags & HasCostCurrency) == 0 ? null : Text(bytes, ref at, strings);
        if (at != bytes.Length)
        {
            throw new FormatException($"a settlement record has {bytes.Length - at} bytes past its end");
        }

        return new SettlementRecord
        {
            AdmittedAt = new DateTimeOffset(ticks, TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(offset)),
            Charged = CreditAmount.FromUnits(charged, scale),
            Overdrawn = CreditAmount.FromUnits(overdrawn, scale),
            Overage = CreditAmount.FromUnits(overage, scale),
            Waived = CreditAmount.FromUnits(waived, scale),
            Tokens = tokens,
            Estimated = (flags & Estimated) != 0,
            AnsweredModel = answeredModel,
            SubjectPath = subjectPath,
            Price = price,
            VendorCost = vendorCost,
            CostCurrency = costCurrency,
        };
    }

    private static void Unsigned(ArrayBufferWriter<byte> output, ulong value)
    {
        Span<byte> span = output.GetSpan(10);
        int n = 0;
        while (value >= 0x80)
        {
            span[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[n++] = (byte)value;
        output.Advance(n);
    }

    private static void Signed(ArrayBufferWriter<byte> output, long value) => Unsigned(output, (ulong)((value << 1) ^ (value >> 63)));

    private static void Decimal(ArrayBufferWriter<byte> output, decimal? value)
    {
        if (value is { } d)
        {
            Span<int> bits = stackalloc int[4];
            decimal.GetBits(d, bits);
            Span<byte> span = output.GetSpan(16);
            for (int i = 0; i < 4; i++)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(span[(i * 4)..], bits[i]);
            }

            output.Advance(16);
        }
    }

    private static void Text(ArrayBufferWriter<byte> output, string? value)
    {
        if (value is not null)
        {
            int length = Encoding.UTF8.GetByteCount(value);
            Unsigned(output, (ulong)length);
            output.Advance(Encoding.UTF8.GetBytes(value, output.GetSpan(length)));
        }
    }

    private static ulong Unsigned(ReadOnlySpan<byte> bytes, ref int at)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (at >= bytes.Length)
            {
                throw new FormatException("a settlement record is cut short");
            }

            byte b = bytes[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new FormatException("a settlement record holds a number longer than 64 bits");
    }

    private static long Signed(ReadOnlySpan<byte> bytes, ref int at)
    {
        ulong zigzag = Unsigned(bytes, ref at);
        return (long)(zigzag >> 1) ^ -(long)(zigzag & 1);
    }

    private static decimal Decimal(ReadOnlySpan<byte> bytes, ref int at)
    {
        if (bytes.Length - at < 16)
        {
            throw new FormatException("a settlement record is cut short");
        }

        Span<int> bits = stackalloc int[4];
        for (int i = 0; i < 4; i++)
        {
            bits[i] = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes[(at + (i * 4))..]);
        }

        at += 16;
        return new decimal(bits);
    }

    private static string Text(ReadOnlySpan<byte> bytes, ref int at, Utf8Strings? strings)
    {
        ulong length = Unsigned(bytes, ref at);
        if (length > (ulong)(bytes.Length - at))
        {
            throw new FormatException("a settlement record is cut short");
        }

        ReadOnlySpan<byte> utf8 = bytes.Slice(at, (int)length);
        string value = strings is null ? Encoding.UTF8.GetString(utf8) : strings.Get(utf8);
        at += (int)length;
        return value;
    }
}
