using System.Globalization;

namespace UsageGuard.Benchmarks;

/// <summary>
/// Writes a valid ledger without the engine, exactly as the ledger writer seals entries: each draft is applied to a
/// <see cref="LedgerProjection"/> for its before/after balances, numbered, chained to the previous hash and hashed with
/// <see cref="LedgerEntryHasher"/>. The ledger starts with one grant per customer, then settles one credit at a time
/// on customers picked by a seeded random sequence, so the same arguments always give the same entries (block ids and
/// hashes included).
/// </summary>
/// <remarks>Not thread-safe. A start-up replays such a ledger as it replays one the engine wrote.</remarks>
internal sealed class LedgerChain : IDisposable
{
    internal const string CreditType = UsageGuardDefaults.CreditType;
    private const int Scale = UsageGuardDefaults.CreditScale;

    /// <summary>Each customer's single block: far more credits than any run settles.</summary>
    private const long GrantUnits = 1_000_000_000L * 1_000_000;

    /// <summary>One credit at <see cref="Scale"/> 6.</summary>
    private const long SettleUnits = 1_000_000;

    private static readonly DateTimeOffset Epoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Step = TimeSpan.FromMicroseconds(10);

    private readonly LedgerProjection _projection = new();
    private readonly LedgerEntryHasher _hasher = new();
    private readonly string[] _customers;
    private readonly Guid[] _blocks;
    private readonly Random _random;
    private DateTimeOffset _clock = Epoch;
    private long _lastSequence;
    private LedgerHash _lastHash = LedgerHash.Genesis;

    internal LedgerChain(int customers, int seed)
    {
        _customers = new string[customers];
        _blocks = new Guid[customers];
        for (int i = 0; i < customers; i++)
        {
            _customers[i] = CustomerId(i);
        }

        _random = new Random(seed);
    }

    /// <summary>Gets the sequence number of the last entry written (0 before the first).</summary>
    internal long LastSequence => _lastSequence;

    /// <summary>Gets the id of the customer at <paramref name="index"/>: <c>customer-00042</c>.</summary>
    internal static string CustomerId(int index) => "customer-" + index.ToString("D5", CultureInfo.InvariantCulture);

    /// <summary>Fills <paramref name="entries"/> with the next entries of the ledger.</summary>
    internal void Next(Span<LedgerEntry> entries)
    {
        for (int i = 0; i < entries.Length; i++)
        {
            entries[i] = Seal(Draft());
        }
    }

    /// <summary>Returns the next <paramref name="count"/> entries.</summary>
    internal LedgerEntry[] Next(int count)
    {
        var entries = new LedgerEntry[count];
        Next(entries);
        return entries;
    }

    /// <summary>Returns the snapshot the ledger writer would save now.</summary>
    internal LedgerSnapshot Snapshot() => _projection.ToSnapshot(_lastSequence, _lastHash);

    public void Dispose() => _hasher.Dispose();

    private LedgerEntry Draft()
    {
        _clock += Step;
        long granted = _lastSequence;
        if (granted < _customers.Length)
        {
            int index = (int)granted;
            var terms = new CreditBlock(Guid.CreateVersion7(_clock), _customers[index], CreditType, CreditAmount.FromUnits(GrantUnits, Scale), _clock, expiresAt: null, priority: 0, CreditCategory.Paid, costBasis: null, featureScope: null, metadata: null, _clock);
            _blocks[index] = terms.Id;
            return new LedgerEntry
            {
                Timestamp = _clock,
                Kind = LedgerEntryKind.Grant,
                CustomerId = terms.CustomerId,
                CreditType = CreditType,
                BlockId = terms.Id,
                Amount = terms.Amount,
                Block = terms,
            };
        }

        int customer = _random.Next(_customers.Length);
        return new LedgerEntry
        {
            Timestamp = _clock,
            Kind = LedgerEntryKind.Settle,
            CustomerId = _customers[customer],
            CreditType = CreditType,
            BlockId = _blocks[customer],
            Amount = CreditAmount.FromUnits(-SettleUnits, Scale),
            ReservationId = _lastSequence + 1,
        };
    }

    private LedgerEntry Seal(in LedgerEntry draft)
    {
        long sequence = _lastSequence + 1;
        LedgerEntry entry = LedgerWriter.Seal(draft, sequence, _lastHash, _projection, _hasher, out string? problem);
        if (problem is not null)
        {
            throw new InvalidOperationException($"Entry {sequence} does not fit the projection: {problem}");
        }

        _lastHash = entry.Hash;
        _lastSequence = sequence;
        return entry;
    }
}
