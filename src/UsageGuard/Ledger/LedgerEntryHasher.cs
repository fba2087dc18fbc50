using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace UsageGuard;

/// <summary>Computes an entry's chained SHA-256 over a fixed, versioned binary encoding of its fields.</summary>
/// <remarks>
/// <para>The encoding is part of the ledger's format (docs/ledger.md): version byte, previous hash, then every field in
/// declaration order; integers big-endian, strings as a 32-bit byte length (-1 for null) and UTF-8, metadata sorted
/// by key.</para>
/// <para>Fields added after the first release (<see cref="LedgerEntry.CatalogVersion"/>, <see cref="LedgerEntry.Usage"/>, then
/// <see cref="LedgerEntry.Budgeted"/>, then <see cref="LedgerEntry.Settlement"/>) follow the block as extensions that are written only when one of their fields is set: an
/// entry without them encodes exactly as it did before they existed, so ledgers already written keep their hashes and still
/// verify. An extension cannot make two entries encode alike, since every field before it is self-delimiting and an encoding
/// without it ends where it would start.</para>
/// <para>Not thread-safe: each writer or verifier owns one instance and its buffer.</para>
/// </remarks>
internal sealed class LedgerEntryHasher : IDisposable
{
    private const byte FormatVersion = 1;

    // Starts the extension after the block; a later extension takes another value and follows this one.
    private const byte CatalogAndUsageExtension = 1;

    // Follows the first extension (written, possibly empty, whenever this one is): what a settlement counted toward budgets.
    private const byte BudgetedExtension = 2;

    // Follows the budgeted extension when present (or the first extension): what a settlement charged and for what.
    private const byte SettlementExtension = 3;

    // One reused context: a one-shot SHA256.HashData sets up and tears down a native context per call, which costs
    // more than hashing a ledger entry.
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private byte[] _buffer = new byte[512];
    private int _length;

    internal LedgerHash Compute(in LedgerEntry entry, LedgerHash previous)
    {
        _length = 0;
        WriteByte(FormatVersion);
        Span<byte> hash = stackalloc byte[LedgerHash.Size];
        previous.CopyTo(hash);
        WriteBytes(hash);
        WriteInt64(entry.Sequence);
        WriteInt64(entry.Timestamp.UtcTicks);
        WriteByte((byte)entry.Kind);
        WriteString(entry.CustomerId);
        WriteString(entry.CreditType);
        WriteGuid(entry.BlockId);
        WriteAmount(entry.Amount);
        WriteAmount(entry.BalanceBefore);
        WriteAmount(entry.BalanceAfter);
        WriteString(entry.Subject);
        WriteString(entry.Feature);
        WriteString(entry.Model);
        WriteString(entry.SessionId);
        WriteString(entry.RequestId);
        WriteString(entry.IdempotencyKey);
        WriteByte(entry.ReservationId.HasValue ? (byte)1 : (byte)0);
        WriteInt64(entry.ReservationId.GetValueOrDefault());
        WriteString(entry.Reason);
        WriteBlock(entry.Block);
        if (entry.CatalogVersion is not null || entry.Usage is not null || entry.Budgeted is not null || entry.Settlement is not null)
        {
            WriteByte(CatalogAndUsageExtension);
            WriteString(entry.CatalogVersion);
            WriteUsage(entry.Usage);
            if (entry.Budgeted is { } budgeted)
            {
                WriteByte(BudgetedExtension);
                WriteInt64(budgeted.AdmittedAt.UtcTicks);
                WriteAmount(budgeted.Credits);
                WriteInt64(budgeted.Tokens);
                IReadOnlyList<string>? tags = budgeted.Tags;
                WriteInt32(tags?.Count ?? 0);
                for (int i = 0; i < (tags?.Count ?? 0); i++)
                {
                    WriteString(tags![i]);
                }
            }

            if (entry.Settlement is { } settled)
            {
                WriteByte(SettlementExtension);
                WriteSettlement(settled);
            }
        }

        _sha256.AppendData(_buffer, 0, _length);
        _sha256.GetHashAndReset(hash);
        return LedgerHash.FromBytes(hash);
    }

    public void Dispose() => _sha256.Dispose();

    private void WriteSettlement(in SettlementRecord settled)
    {
        WriteInt64(settled.AdmittedAt.UtcTicks);
        WriteAmount(settled.Charged);
        WriteAmount(settled.Overdrawn);
        WriteAmount(settled.Overage);
        WriteAmount(settled.Waived);
        WriteByte(settled.Tokens.HasValue ? (byte)1 : (byte)0);
        TokenUsage tokens = settled.Tokens.GetValueOrDefault();
        WriteInt64(tokens.InputTokens);
        WriteInt64(tokens.CachedInputTokens);
        WriteInt64(tokens.OutputTokens);
        WriteInt64(tokens.ReasoningTokens);
        WriteByte(settled.Estimated ? (byte)1 : (byte)0);
        WriteString(settled.AnsweredModel);
        WriteString(settled.SubjectPath);
        WriteDecimal(settled.Price);
        WriteDecimal(settled.VendorCost);
        WriteString(settled.CostCurrency);
    }

    private void WriteDecimal(decimal? value)
    {
        WriteByte(value.HasValue ? (byte)1 : (byte)0);
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value.GetValueOrDefault(), bits);
        for (int i = 0; i < bits.Length; i++)
        {
            WriteInt64(bits[i]);
        }
    }

    private void WriteBlock(CreditBlock? block)
    {
        if (block is null)
        {
            WriteByte(0);
            return;
        }

        WriteByte(1);
        WriteGuid(block.Id);
        WriteString(block.CustomerId);
        WriteString(block.CreditType);
        WriteAmount(block.Amount);
        WriteInt64(block.EffectiveAt.UtcTicks);
        WriteInt64(block.ExpiresAt?.UtcTicks ?? -1);
        WriteInt64(block.Priority);
        WriteByte((byte)block.Category);
        WriteByte(block.CostBasis.HasValue ? (byte)1 : (byte)0);
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(block.CostBasis.GetValueOrDefault(), bits);
        for (int i = 0; i < bits.Length; i++)
        {
            WriteInt64(bits[i]);
        }

        WriteString(block.FeatureScope);
        WriteInt64(block.CreatedAt.UtcTicks);
        WriteInt64(block.Metadata.Count);
        if (block.Metadata.Count > 0)
        {
            string[] keys = block.Metadata.Keys.ToArray();
            Array.Sort(keys, StringComparer.Ordinal);
            foreach (string key in keys)
            {
                WriteString(key);
                WriteString(block.Metadata[key]);
            }
        }
    }

    private void WriteUsage(in MeteredUsage? value)
    {
        if (value is not { } usage)
        {
            WriteByte(0);
            return;
        }

        WriteByte(1);
        WriteString(usage.Meter);
        WriteInt64(usage.Quantity);
        WriteByte((byte)usage.Window);
        WriteInt64(usage.WindowStart.UtcTicks);
        WriteInt64(usage.WindowEnd.UtcTicks);
    }

    private void WriteAmount(CreditAmount amount)
    {
        WriteInt64(amount.Units);
        WriteByte((byte)amount.Scale);
    }

    private void WriteGuid(Guid? id)
    {
        WriteByte(id.HasValue ? (byte)1 : (byte)0);
        Ensure(16);
        id.GetValueOrDefault().TryWriteBytes(_buffer.AsSpan(_length, 16), bigEndian: true, out _);
        _length += 16;
    }

    private void WriteString(string? value)
    {
        if (value is null)
        {
            WriteInt32(-1);
            return;
        }

        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        Ensure(4 + max);
        int written = Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_length + 4));
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_length), written);
        _length += 4 + written;
    }

    private void WriteInt64(long value)
    {
        Ensure(8);
        BinaryPrimitives.WriteInt64BigEndian(_buffer.AsSpan(_length), value);
        _length += 8;
    }

    private void WriteInt32(int value)
    {
        Ensure(4);
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_length), value);
        _length += 4;
    }

    private void WriteByte(byte value)
    {
        Ensure(1);
        _buffer[_length++] = value;
    }

    private void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    private void Ensure(int extra)
    {
        if (_length + extra > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + extra));
        }
    }
}
