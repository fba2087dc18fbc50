using System.Security.Cryptography;
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
    internal static string EncodeBlock(CreditBlock block) =>
        JsonSerializer.Serialize(BlockDto.From(block), StoreJson.Default.BlockDto);

    internal static CreditBlock DecodeBlock(string json) =>
        (JsonSerializer.Deserialize(json, StoreJson.Default.BlockDto) ?? throw Damaged("block terms are empty")).ToBlock();

    internal static string EncodeUsage(MeteredUsage usage) =>
        JsonSerializer.Serialize(UsageDto.From(usage), StoreJson.Default.UsageDto);

    /// <exception cref="ArgumentException">The stored usage breaks <see cref="MeteredUsage"/>'s rules (no meter, a negative quantity, an empty window).</exception>
    internal static MeteredUsage DecodeUsage(string json) =>
        (JsonSerializer.Deserialize(json, StoreJson.Default.UsageDto) ?? throw Damaged("a usage entry is empty")).ToUsage();

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

    internal static byte[] Checksum(ReadOnlySpan<byte> bytes) => SHA256.HashData(bytes);

    private static UsageGuardException Damaged(string what) =>
        new($"The ledger store is damaged: {what}. Refusing to load it; restore the store from a backup.");

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
}

[JsonSerializable(typeof(StoreCodec.BlockDto))]
[JsonSerializable(typeof(StoreCodec.SnapshotDto))]
[JsonSerializable(typeof(StoreCodec.UsageDto))]
[JsonSerializable(typeof(StoreCodec.BudgetedDto))]
internal sealed partial class StoreJson : JsonSerializerContext;
