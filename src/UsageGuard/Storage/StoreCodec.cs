using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace UsageGuard;

/// <summary>
/// The one encoding of block terms, metered usage, budget usage and snapshots that every durable store uses, so a store never invents its own and
/// a snapshot written by one version is read by the next.
/// </summary>
/// <remarks>
/// A snapshot is stored with a SHA-256 checksum of its bytes: a damaged snapshot is refused at start-up rather than
/// loaded as wrong balances.
/// </remarks>
internal static class StoreCodec
{
    private const string OutboxMagic = "ugoutbox";
    private const int OutboxFormatVersion = 1;

    internal static string EncodeBlock(CreditBlock block) =>
        JsonSerializer.Serialize(BlockDto.From(block), StoreJson.Default.BlockDto);

    internal static CreditBlock DecodeBlock(string json) =>
        (JsonSerializer.Deserialize(json, StoreJson.Default.BlockDto) ?? throw Damaged("block terms are empty")).ToBlock();

    internal static string EncodeUsage(MeteredUsage usage) =>
        JsonSerializer.Serialize(UsageDto.From(usage), StoreJson.Default.UsageDto);

    /// <exception cref="ArgumentException">The stored usage breaks <see cref="MeteredUsage"/>'s rules (no meter, a negative quantity, an empty window).</exception>
    internal static MeteredUsage DecodeUsage(string json) =>
        (JsonSerializer.Deserialize(json, StoreJson.Default.UsageDto) ?? throw Damaged("a usage entry is empty")).ToUsage();

    internal static string EncodeSettlement(in SettlementRecord settled) =>
        JsonSerializer.Serialize(SettlementDto.From(settled), StoreJson.Default.SettlementDto);

    /// <exception cref="ArgumentException">The stored settlement breaks a rule of its values (a scale out of range).</exception>
    internal static SettlementRecord DecodeSettlement(string json) =>
        (JsonSerializer.Deserialize(json, StoreJson.Default.SettlementDto) ?? throw Damaged("a settlement record is empty")).ToSettlement();

    internal static string EncodeBudgeted(BudgetedUsage budgeted) =>
        JsonSerializer.Serialize(BudgetedDto.From(budgeted), StoreJson.Default.BudgetedDto);

    /// <exception cref="ArgumentException">The stored budget usage breaks <see cref="BudgetedUsage"/>'s rules (negative credits or tokens, a scale out of range).</exception>
    internal static BudgetedUsage DecodeBudgeted(string json) =>
        (JsonSerializer.Deserialize(json, StoreJson.Default.BudgetedDto) ?? throw Damaged("a budgeted entry is empty")).ToBudgeted();

    internal static byte[] EncodeSnapshot(LedgerSnapshot snapshot)
    {
        var dto = new SnapshotDto
        {
            Sequence = snapshot.Sequence,
            LastHash = snapshot.LastHash.ToString(),
            Wallets = snapshot.Wallets.Select(w => new WalletDto
            {
                CustomerId = w.CustomerId,
                CreditType = w.CreditType,
                OwedUnits = w.OwedUnits,
                Blocks = w.Blocks.Select(b => new BlockStateDto
                {
                    Terms = BlockDto.From(b.Terms),
                    UsedUnits = b.UsedUnits,
                    RemovedUnits = b.RemovedUnits,
                    ClosedAs = b.ClosedAs,
                }).ToList(),
            }).ToList(),
            Usage = snapshot.Usage.Select(u => new CustomerUsageDto { CustomerId = u.CustomerId, Usage = UsageDto.From(u.Usage) }).ToList(),
        };
        return JsonSerializer.SerializeToUtf8Bytes(dto, StoreJson.Default.SnapshotDto);
    }

    internal static LedgerSnapshot DecodeSnapshot(ReadOnlySpan<byte> utf8Json)
    {
        SnapshotDto dto = JsonSerializer.Deserialize(utf8Json, StoreJson.Default.SnapshotDto) ?? throw Damaged("the snapshot is empty");
        return new LedgerSnapshot
        {
            Sequence = dto.Sequence,
            LastHash = LedgerHash.Parse(dto.LastHash),
            Wallets = dto.Wallets.Select(w => new WalletSnapshot
            {
                CustomerId = w.CustomerId,
                CreditType = w.CreditType,
                OwedUnits = w.OwedUnits,
                Blocks = w.Blocks.Select(b => new BlockSnapshot
                {
                    Terms = b.Terms.ToBlock(),
                    UsedUnits = b.UsedUnits,
                    RemovedUnits = b.RemovedUnits,
                    ClosedAs = b.ClosedAs,
                }).ToList(),
            }).ToList(),

            // Absent from snapshots written before usage was recorded.
            Usage = dto.Usage is null ? [] : dto.Usage.Select(u => new UsageSnapshot
            {
                CustomerId = u.CustomerId,
                Usage = (u.Usage ?? throw Damaged("a usage total of the snapshot is empty")).ToUsage(),
            }).ToList(),
        };
    }

    /// <summary>Encodes a batch of ledger entries and idempotency records for the <see cref="LedgerOutbox"/>.</summary>
    /// <remarks>
    /// The bytes are one ASCII header line, <c>ugoutbox 1 &lt;SHA-256 of the payload, 64 lowercase hex digits&gt;\n</c>, then the
    /// payload: the batch as UTF-8 JSON. Amounts are units and scale, never floating point; instants keep their ticks and offset.
    /// </remarks>
    /// <param name="batchId">The batch id that makes re-appending the batch safe.</param>
    /// <param name="entries">The entries, in ledger order.</param>
    /// <param name="records">The idempotency records committed with the entries.</param>
    /// <returns>The encoded batch.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="records"/> or one of its items is <see langword="null"/>.</exception>
    internal static byte[] EncodeOutboxBatch(Guid batchId, ReadOnlySpan<LedgerEntry> entries, IReadOnlyList<IdempotencyRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var dto = new OutboxBatchDto
        {
            BatchId = batchId,
            Entries = new List<EntryDto>(entries.Length),
            Records = new List<RecordDto>(records.Count),
        };
        foreach (ref readonly LedgerEntry entry in entries)
        {
            dto.Entries.Add(EntryDto.From(entry));
        }

        for (int i = 0; i < records.Count; i++)
        {
            dto.Records.Add(RecordDto.From(records[i] ?? throw new ArgumentNullException(nameof(records), $"Idempotency record {i} of the batch is null.")));
        }

        byte[] payload = JsonSerializer.SerializeToUtf8Bytes(dto, StoreJson.Default.OutboxBatchDto);
        string header = string.Create(
            CultureInfo.InvariantCulture, $"{OutboxMagic} {OutboxFormatVersion} {Convert.ToHexStringLower(Checksum(payload))}\n");
        byte[] bytes = new byte[header.Length + payload.Length];
        int written = Encoding.ASCII.GetBytes(header, bytes);
        payload.CopyTo(bytes.AsSpan(written));
        return bytes;
    }

    /// <summary>Decodes and verifies a batch written by <see cref="EncodeOutboxBatch"/>.</summary>
    /// <param name="bytes">The encoded batch.</param>
    /// <returns>The batch id, the entries in ledger order and the idempotency records.</returns>
    /// <exception cref="LedgerCorruptedException">
    /// The bytes are damaged: no or a malformed header, an unknown format version, a checksum that does not match the payload
    /// (altered or truncated), invalid JSON, or values that no ledger entry can hold.
    /// </exception>
    internal static (Guid BatchId, LedgerEntry[] Entries, IdempotencyRecord[] Records) DecodeOutboxBatch(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            throw DamagedBatch("it is empty");
        }

        int newline = bytes.IndexOf((byte)'\n');
        if (newline < 0)
        {
            throw DamagedBatch("its header line is truncated (no end of line)");
        }

        ReadOnlySpan<byte> header = bytes[..newline];
        ReadOnlySpan<byte> payload = bytes[(newline + 1)..];
        ReadOnlySpan<byte> magic = "ugoutbox "u8;
        if (!header.StartsWith(magic))
        {
            throw DamagedBatch("it does not start with the 'ugoutbox' header");
        }

        ReadOnlySpan<byte> rest = header[magic.Length..];
        int space = rest.IndexOf((byte)' ');
        if (space < 0 || !int.TryParse(rest[..space], NumberStyles.None, CultureInfo.InvariantCulture, out int version))
        {
            throw DamagedBatch("its header has no format version and checksum");
        }

        if (version != OutboxFormatVersion)
        {
            throw DamagedBatch(string.Create(
                CultureInfo.InvariantCulture,
                $"it is in format version {version}, which this version of UsageGuard does not read (it reads version {OutboxFormatVersion}); append it with the version that wrote it"));
        }

        ReadOnlySpan<byte> hex = rest[(space + 1)..];
        byte[] expected;
        try
        {
            expected = hex.Length == 64 ? Convert.FromHexString(Encoding.ASCII.GetString(hex)) : throw new FormatException();
        }
        catch (FormatException e)
        {
            throw DamagedBatch("the checksum in its header is not 64 hexadecimal digits", e);
        }

        if (!CryptographicOperations.FixedTimeEquals(expected, Checksum(payload)))
        {
            throw DamagedBatch("its SHA-256 checksum does not match its contents (the file was altered or truncated)");
        }

        OutboxBatchDto? dto;
        try
        {
            dto = JsonSerializer.Deserialize(payload, StoreJson.Default.OutboxBatchDto);
        }
        catch (JsonException e)
        {
            throw DamagedBatch($"its JSON is invalid ({e.Message})", e);
        }

        if (dto?.Entries is null || dto.Records is null)
        {
            throw DamagedBatch("it has no entry list or no record list");
        }

        try
        {
            var entries = new LedgerEntry[dto.Entries.Count];
            for (int i = 0; i < entries.Length; i++)
            {
                entries[i] = (dto.Entries[i] ?? throw new FormatException($"entry {i} is null")).ToEntry();
            }

            var records = new IdempotencyRecord[dto.Records.Count];
            for (int i = 0; i < records.Length; i++)
            {
                records[i] = (dto.Records[i] ?? throw new FormatException($"idempotency record {i} is null")).ToRecord();
            }

            return (dto.BatchId, entries, records);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            throw DamagedBatch($"it holds values no ledger entry can have ({e.Message})", e);
        }
    }

    internal static byte[] Checksum(ReadOnlySpan<byte> bytes) => SHA256.HashData(bytes);

    private static UsageGuardException Damaged(string what) =>
        new($"The ledger store is damaged: {what}. Refusing to load it; restore the store from a backup.");

    private static LedgerCorruptedException DamagedBatch(string what, Exception? inner = null)
    {
        string message = $"The ledger outbox batch is damaged: {what}.";
        return inner is null ? new(message) : new(message, inner);
    }

    internal sealed class BlockDto
    {
        public Guid Id { get; set; }

        public string CustomerId { get; set; } = string.Empty;

        public string CreditType { get; set; } = string.Empty;

        public long Units { get; set; }

        public int Scale { get; set; }

        public DateTimeOffset EffectiveAt { get; set; }

        public DateTimeOffset? ExpiresAt { get; set; }

        public int Priority { get; set; }

        public CreditCategory Category { get; set; }

        public decimal? CostBasis { get; set; }

        public string? FeatureScope { get; set; }

        public Dictionary<string, string>? Metadata { get; set; }

        public DateTimeOffset CreatedAt { get; set; }

        internal static BlockDto From(CreditBlock b) => new()
        {
            Id = b.Id,
            CustomerId = b.CustomerId,
            CreditType = b.CreditType,
            Units = b.Amount.Units,
            Scale = b.Amount.Scale,
            EffectiveAt = b.EffectiveAt,
            ExpiresAt = b.ExpiresAt,
            Priority = b.Priority,
            Category = b.Category,
            CostBasis = b.CostBasis,
            FeatureScope = b.FeatureScope,
            Metadata = b.Metadata.Count == 0 ? null : new Dictionary<string, string>(b.Metadata, StringComparer.Ordinal),
            CreatedAt = b.CreatedAt,
        };

        internal CreditBlock ToBlock() => new(
            Id, CustomerId, CreditType, CreditAmount.FromUnits(Units, Scale), EffectiveAt, ExpiresAt, Priority, Category, CostBasis, FeatureScope, Metadata, CreatedAt);
    }

    internal sealed class UsageDto
    {
        public string Meter { get; set; } = string.Empty;

        public long Quantity { get; set; }

        public UsageWindow Window { get; set; }

        public DateTimeOffset WindowStart { get; set; }

        public DateTimeOffset WindowEnd { get; set; }

        internal static UsageDto From(MeteredUsage u) => new()
        {
            Meter = u.Meter,
            Quantity = u.Quantity,
            Window = u.Window,
            WindowStart = u.WindowStart,
            WindowEnd = u.WindowEnd,
        };

        internal MeteredUsage ToUsage() => new(Meter, Quantity, Window, WindowStart, WindowEnd);
    }

    internal sealed class BudgetedDto
    {
        public DateTimeOffset AdmittedAt { get; set; }

        public long CreditUnits { get; set; }

        public int Scale { get; set; }

        public long Tokens { get; set; }

        public List<string>? Tags { get; set; }

        internal static BudgetedDto From(BudgetedUsage b) => new()
        {
            AdmittedAt = b.AdmittedAt,
            CreditUnits = b.Credits.Units,
            Scale = b.Credits.Scale,
            Tokens = b.Tokens,
            Tags = b.Tags is { } tags ? [.. tags] : null,
        };

        internal BudgetedUsage ToBudgeted() => new(AdmittedAt, CreditAmount.FromUnits(CreditUnits, Scale), Tokens, Tags);
    }

    internal sealed class SettlementDto
    {
        public DateTimeOffset AdmittedAt { get; set; }

        public int Scale { get; set; }

        public long Charged { get; set; }

        public long Overdrawn { get; set; }

        public long Overage { get; set; }

        public long Waived { get; set; }

        public long[]? Tokens { get; set; }

        public bool Estimated { get; set; }

        public string? AnsweredModel { get; set; }

        public string? SubjectPath { get; set; }

        public decimal? Price { get; set; }

        public decimal? VendorCost { get; set; }

        public string? CostCurrency { get; set; }

        internal static SettlementDto From(in SettlementRecord r) => new()
        {
            AdmittedAt = r.AdmittedAt,
            Scale = r.Charged.Scale,
            Charged = r.Charged.Units,
            Overdrawn = r.Overdrawn.Units,
            Overage = r.Overage.Units,
            Waived = r.Waived.Units,
            Tokens = r.Tokens is { } t ? [t.InputTokens, t.CachedInputTokens, t.OutputTokens, t.ReasoningTokens] : null,
            Estimated = r.Estimated,
            AnsweredModel = r.AnsweredModel,
            SubjectPath = r.SubjectPath,
            Price = r.Price,
            VendorCost = r.VendorCost,
            CostCurrency = r.CostCurrency,
        };

        internal SettlementRecord ToSettlement() => new()
        {
            AdmittedAt = AdmittedAt,
            Charged = CreditAmount.FromUnits(Charged, Scale),
            Overdrawn = CreditAmount.FromUnits(Overdrawn, Scale),
            Overage = CreditAmount.FromUnits(Overage, Scale),
            Waived = CreditAmount.FromUnits(Waived, Scale),
            Tokens = Tokens is { Length: 4 } t ? new TokenUsage(t[0], t[1], t[2], t[3]) : Tokens is null ? null : throw Damaged("a settlement's tokens are not four counts"),
            Estimated = Estimated,
            AnsweredModel = AnsweredModel,
            SubjectPath = SubjectPath,
            Price = Price,
            VendorCost = VendorCost,
            CostCurrency = CostCurrency,
        };
    }

    internal sealed class CustomerUsageDto
    {
        public string CustomerId { get; set; } = string.Empty;

        public UsageDto? Usage { get; set; }
    }

    internal sealed class BlockStateDto
    {
        public BlockDto Terms { get; set; } = new();

        public long UsedUnits { get; set; }

        public long RemovedUnits { get; set; }

        public LedgerEntryKind? ClosedAs { get; set; }
    }

    internal sealed class WalletDto
    {
        public string CustomerId { get; set; } = string.Empty;

        public string CreditType { get; set; } = string.Empty;

        public long OwedUnits { get; set; }

        public List<BlockStateDto> Blocks { get; set; } = [];
    }

    internal sealed class SnapshotDto
    {
        public long Sequence { get; set; }

        public string LastHash { get; set; } = string.Empty;

        public List<WalletDto> Wallets { get; set; } = [];

        public List<CustomerUsageDto>? Usage { get; set; }
    }
    internal sealed class EntryDto
    {
        public long Sequence { get; set; }

        public DateTimeOffset Timestamp { get; set; }

        public LedgerEntryKind Kind { get; set; }

        public string CustomerId { get; set; } = string.Empty;

        public string CreditType { get; set; } = string.Empty;

        public Guid? BlockId { get; set; }

        public long AmountUnits { get; set; }

        public int AmountScale { get; set; }

        public long BalanceBeforeUnits { get; set; }

        public int BalanceBeforeScale { get; set; }

        public long BalanceAfterUnits { get; set; }

        public int BalanceAfterScale { get; set; }

        public string? Subject { get; set; }

        public string? Feature { get; set; }

        public string? Model { get; set; }

        public string? SessionId { get; set; }

        public string? RequestId { get; set; }

        public string? IdempotencyKey { get; set; }

        public long? ReservationId { get; set; }

        public string? Reason { get; set; }

        public BlockDto? Block { get; set; }

        public UsageDto? Usage { get; set; }

        public BudgetedDto? Budgeted { get; set; }

        public SettlementDto? Settlement { get; set; }

        public string? CatalogVersion { get; set; }

        public string PreviousHash { get; set; } = string.Empty;

        public string Hash { get; set; } = string.Empty;

        internal static EntryDto From(in LedgerEntry e) => new()
        {
            Sequence = e.Sequence,
            Timestamp = e.Timestamp,
            Kind = e.Kind,
            CustomerId = e.CustomerId,
            CreditType = e.CreditType,
            BlockId = e.BlockId,
            AmountUnits = e.Amount.Units,
            AmountScale = e.Amount.Scale,
            BalanceBeforeUnits = e.BalanceBefore.Units,
            BalanceBeforeScale = e.BalanceBefore.Scale,
            BalanceAfterUnits = e.BalanceAfter.Units,
            BalanceAfterScale = e.BalanceAfter.Scale,
            Subject = e.Subject,
            Feature = e.Feature,
            Model = e.Model,
            SessionId = e.SessionId,
            RequestId = e.RequestId,
            IdempotencyKey = e.IdempotencyKey,
            ReservationId = e.ReservationId,
            Reason = e.Reason,
            Block = e.Block is { } block ? BlockDto.From(block) : null,
            Usage = e.Usage is { } usage ? UsageDto.From(usage) : null,
            Budgeted = e.Budgeted is { } budgeted ? BudgetedDto.From(budgeted) : null,
            Settlement = e.Settlement is { } settled ? SettlementDto.From(settled) : null,
            CatalogVersion = e.CatalogVersion,
            PreviousHash = e.PreviousHash.ToString(),
            Hash = e.Hash.ToString(),
        };

        /// <exception cref="ArgumentException">A value breaks the rules of its type (a scale out of range, a usage window that ends before it starts, a missing hash).</exception>
        /// <exception cref="FormatException">A hash is not 64 hexadecimal digits.</exception>
        internal LedgerEntry ToEntry() => new()
        {
            Sequence = Sequence,
            Timestamp = Timestamp,
            Kind = Kind,
            CustomerId = CustomerId,
            CreditType = CreditType,
            BlockId = BlockId,
            Amount = CreditAmount.FromUnits(AmountUnits, AmountScale),
            BalanceBefore = CreditAmount.FromUnits(BalanceBeforeUnits, BalanceBeforeScale),
            BalanceAfter = CreditAmount.FromUnits(BalanceAfterUnits, BalanceAfterScale),
            Subject = Subject,
            Feature = Feature,
            Model = Model,
            SessionId = SessionId,
            RequestId = RequestId,
            IdempotencyKey = IdempotencyKey,
            ReservationId = ReservationId,
            Reason = Reason,
            Block = Block?.ToBlock(),
            Usage = Usage?.ToUsage(),
            Budgeted = Budgeted?.ToBudgeted(),
            Settlement = Settlement?.ToSettlement(),
            CatalogVersion = CatalogVersion,
            PreviousHash = LedgerHash.Parse(PreviousHash),
            Hash = LedgerHash.Parse(Hash),
        };
    }

    internal sealed class RecordDto
    {
        public string CustomerId { get; set; } = string.Empty;

        public string Key { get; set; } = string.Empty;

        public string Fingerprint { get; set; } = string.Empty;

        public DateTimeOffset CreatedAt { get; set; }

        public string Outcome { get; set; } = string.Empty;

        internal static RecordDto From(IdempotencyRecord r) => new()
        {
            CustomerId = r.CustomerId,
            Key = r.Key,
            Fingerprint = r.Fingerprint,
            CreatedAt = r.CreatedAt,
            Outcome = r.Outcome,
        };

        internal IdempotencyRecord ToRecord() => new()
        {
            CustomerId = CustomerId,
            Key = Key,
            Fingerprint = Fingerprint,
            CreatedAt = CreatedAt,
            Outcome = Outcome,
        };
    }

    internal sealed class OutboxBatchDto
    {
        public Guid BatchId { get; set; }

        public List<EntryDto> Entries { get; set; } = [];

        public List<RecordDto> Records { get; set; } = [];
    }
}

[JsonSerializable(typeof(StoreCodec.BlockDto))]
[JsonSerializable(typeof(StoreCodec.SnapshotDto))]
[JsonSerializable(typeof(StoreCodec.UsageDto))]
[JsonSerializable(typeof(StoreCodec.BudgetedDto))]
[JsonSerializable(typeof(StoreCodec.SettlementDto))]
[JsonSerializable(typeof(StoreCodec.EntryDto))]
[JsonSerializable(typeof(StoreCodec.RecordDto))]
[JsonSerializable(typeof(StoreCodec.OutboxBatchDto))]
internal sealed partial class StoreJson : JsonSerializerContext;
