using System.Collections.Concurrent;
using System.Collections.Frozen;
using Microsoft.Extensions.Logging;

namespace UsageGuard;

/// <summary>
/// The in-process engine behind <see cref="IEntitlementGuard"/> and <see cref="ICreditLedger"/>: wallets of CAS pools,
/// pooled reservations, the idempotency table, and the single ledger writer.
/// </summary>
/// <remarks>Thread-safe. Built by <see cref="StartAsync"/>, which replays the store before anything is served.</remarks>
internal sealed partial class EntitlementGuard : IEntitlementGuard, ICreditLedger, IAsyncDisposable, IDisposable
{
    private const string InsufficientReason = "The wallet's usable credits do not cover the amount.";
    private const string StoreScope = "ledger";
    private static readonly TimeSpan StoreRetryAfter = TimeSpan.FromSeconds(1);

    private readonly UsageGuardOptions _options;
    private readonly ILedgerStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CreditType[] _types;
    private readonly FrozenDictionary<string, int> _typeIndex;
    private readonly int _defaultType;
    private readonly ConcurrentDictionary<string, CustomerAccount> _customers = new(StringComparer.Ordinal);
    private readonly ReservationRegistry _reservations;
    private readonly IdempotencyTable _idempotency;
    private readonly long _defaultTtlTicks;
    private readonly long _maxTtlTicks;
    private readonly ReservationState _gone;
    private LedgerWriter _writer = null!;
    private ITimer? _sweepTimer;
    private long _lastReservationId;
    private int _disposed;

    private EntitlementGuard(UsageGuardOptions options, ILedgerStore store, TimeProvider time, ILogger logger)
    {
        _options = options;
        _store = store;
        _time = time;
        _logger = logger;
        _types = DeclaredTypes(options).ToArray();
        _typeIndex = _types.Select((t, i) => (t.Code, i)).ToFrozenDictionary(p => p.Code, p => p.i, StringComparer.Ordinal);
        _defaultType = _typeIndex[options.DefaultCreditType];
        _reservations = new ReservationRegistry(this, 1024);

        // Stands for reservations replayed from a record after a restart: never active, so settling one is refused.
        _gone = new ReservationState(this);
        _idempotency = new IdempotencyTable(options.IdempotencyRetention);
        _defaultTtlTicks = options.DefaultReservationTtl.Ticks;
        _maxTtlTicks = options.MaxReservationTtl.Ticks;

        // Ids grow across restarts: the high bits are the start time in milliseconds (room for 4,096 reservations a
        // millisecond before ids run ahead of the clock), and ids stay below 2^60 so the state stamp can pack them with 3 status bits.
        _lastReservationId = time.GetUtcNow().ToUnixTimeMilliseconds() << 12;
    }

    internal ReservationRegistry Reservations => _reservations;

    internal LedgerWriter Writer => _writer;

    /// <summary>Builds a guard: loads the newest snapshot, replays the entries after it, restores wallets and idempotency keys, then starts the writer.</summary>
    internal static async ValueTask<EntitlementGuard> StartAsync(UsageGuardOptions options, ILedgerStore store, TimeProvider time, ILogger logger, CatalogProvider? catalog = null, GovernanceOptions? governance = null, IReadOnlyList<IUsageAlertHandler>? alertHandlers = null, RechargeOptions? recharge = null, IRechargeHandler? rechargeHandler = null, WalletAlertOptions? walletAlerts = null, CancellationToken cancellationToken = default)
    {
        var shared = store as ISharedLedgerStore is { ManyInstances: true } s ? s : null;
        LedgerOutbox? outbox = null;
        if (shared is not null)
        {
            CheckSharedOptions(options, recharge, walletAlerts);
            if (shared.OutboxDirectory is { } directory)
            {
                // Before anything is read: what this instance acknowledged before it stopped is in the ledger it reads.
                outbox = new LedgerOutbox(directory);
                await AppendOutboxAsync(outbox, shared, logger, cancellationToken).ConfigureAwait(false);
            }
        }

        var guard = new EntitlementGuard(options, store, time, logger) { _catalog = catalog, _leasedLimits = shared is not null };
        if (governance is not null)
        {
            // Before the ledger is read: an invalid configuration fails the start without touching the store.
            guard.ApplyConfiguration(governance, throwOnError: true);
        }

        long changesThrough = 0;
        if (shared is not null)
        {
            // Admin changes every instance applied, in order, before the ledger's counts are restored into the budgets they define.
            foreach (SharedChange change in shared.ReadChanges(0))
            {
                guard.ApplyFeedChange(change);
                changesThrough = change.Sequence;
            }
        }

        guard.ConfigureRecharge(recharge, rechargeHandler, logger);
        guard.ConfigureWalletAlerts(walletAlerts);

        LedgerSnapshot? snapshot = await store.LoadLatestSnapshotAsync(cancellationToken).ConfigureAwait(false);
        var projection = LedgerProjection.FromSnapshot(snapshot);
        long lastSequence = snapshot?.Sequence ?? 0;
        LedgerHash lastHash = snapshot?.LastHash ?? LedgerHash.Genesis;
        using (var hasher = new LedgerEntryHasher())
        {
            await foreach (LedgerEntry entry in store.ReadAsync(lastSequence, cancellationToken).ConfigureAwait(false))
            {
                // Every replayed entry is checked in full, not only its link: a changed amount would otherwise become a wrong balance.
                if (entry.Sequence != lastSequence + 1 || entry.PreviousHash != lastHash)
                {
                    throw new LedgerCorruptedException($"The ledger store is damaged at sequence {lastSequence + 1}: entries are missing or out of order. Refusing to start rather than serve wrong balances; run a verification and restore from a backup.");
                }

                if (hasher.Compute(entry, lastHash) != entry.Hash)
                {
                    throw new LedgerCorruptedException($"The ledger store is damaged at sequence {entry.Sequence}: the entry was changed after it was written (its hash does not match its fields). Refusing to start rather than serve wrong balances; restore from a backup.");
                }

                string? problem = projection.Apply(entry, out _, out _);
                if (problem is not null)
                {
                    throw new LedgerCorruptedException($"The ledger store is damaged at sequence {entry.Sequence}: {problem} Refusing to start rather than serve wrong balances.");
                }

                lastSequence = entry.Sequence;
                lastHash = entry.Hash;
            }
        }

        guard.RestoreFrom(projection);
        await guard.RestoreGovernanceAsync(cancellationToken).ConfigureAwait(false);
        await foreach (IdempotencyRecord record in store.ReadIdempotencyRecordsAsync(time.GetUtcNow() - options.IdempotencyRetention, cancellationToken).ConfigureAwait(false))
        {
            guard._idempotency.Load(record);
        }

        guard._alerts = new AlertDispatcher(guard, alertHandlers ?? [], logger);
        guard._writer = new LedgerWriter(store, projection, lastSequence, lastHash, options.LedgerQueueCapacity, options.MaxBatchSize, options.SnapshotInterval, time, options.IdempotencyRetention, logger, shared, outbox);
        if (shared is not null)
        {
            // Not CloseOutLostHolds: another instance may still hold part of a closed block, and settle it.
            guard.StartShared(shared, lastSequence, changesThrough, projection, lastHash);
        }
        else
        {
            guard.CloseOutLostHolds(time.GetUtcNow());
        }

        guard.ArmRestoredWalletAlerts(time.GetUtcNow());
        if (options.ReservationSweepInterval > TimeSpan.Zero)
        {
            guard._sweepTimer = time.CreateTimer(static s => ((EntitlementGuard)s!).SweepReservations(), guard, options.ReservationSweepInterval, options.ReservationSweepInterval);
        }

        guard._recharge?.Start();
        return guard;
    }

    /// <summary>Stops the guard, blocking until the writer has committed everything queued (for containers disposed synchronously).</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        if (_recharge is not null)
        {
            // First, while the guard still takes grants: a payment in progress gets its grant.
            await _recharge.DisposeAsync().ConfigureAwait(false);
        }

        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_sweepTimer is not null)
        {
            await _sweepTimer.DisposeAsync().ConfigureAwait(false);
        }

        await StopSharedAsync().ConfigureAwait(false);
        await _writer.DisposeAsync().ConfigureAwait(false);
        await DisposeEscrowAsync().ConfigureAwait(false);
        if (_alerts is not null)
        {
            await _alerts.DisposeAsync().ConfigureAwait(false);
        }

        _catalog?.Dispose();
    }

    public UsageGuardHealth Health => _writer.Health;

    /// <summary>Gets whether new work is refused because the store is failing and the policy is to fail closed.</summary>
    private bool Refusing => !_writer.Health.IsHealthy && _options.StoreFailurePolicy == StoreFailurePolicy.FailClosed;

    /// <summary>
    /// Gets whether new requests are refused: as <see cref="Refusing"/>, except that with many instances an instance keeps admitting
    /// what its escrow leases hold until they may expire (docs/scale-out.md, outages): the store is needed again only to top them up.
    /// </summary>
    private bool RefusingRequests => Refusing && (_escrow is null || _time.GetUtcNow() >= _escrow.SpendableUntil);

    internal CreditType CreditTypeAt(int index) => _types[index];

    /// <summary>
    /// Gets the configured credit types' scales by code, as the catalog validates against them. Null entries and
    /// duplicate codes are the options validator's to report, so mapping them here does not throw first.
    /// </summary>
    internal static IReadOnlyDictionary<string, int> CreditTypeScales(UsageGuardOptions options)
    {
        var scales = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (CreditTypeOptions? type in DeclaredOptions(options))
        {
            if (type is not null)
            {
                scales.TryAdd(type.Code, type.Scale);
            }
        }

        return scales;
    }

    /// <summary>The configured credit types, or the default type alone when none is configured.</summary>
    private static IEnumerable<CreditType> DeclaredTypes(UsageGuardOptions options) => DeclaredOptions(options).Select(CreditType.From);

    private static IList<CreditTypeOptions> DeclaredOptions(UsageGuardOptions options) =>
        options.CreditTypes.Count > 0 ? options.CreditTypes : [new CreditTypeOptions { Code = options.DefaultCreditType }];

    /// <summary>Gets a wallet for inspection (tests and diagnostics).</summary>
    internal Wallet WalletFor(string customerId, string creditType) => Customer(customerId).Wallet(TypeIndex(creditType));

    internal void SweepReservations() => _reservations.ReclaimExpired(_time.GetUtcNow().UtcTicks);

    /// <summary>Queues an entry for one block (or the wallet when <paramref name="block"/> is null) as its own operation.</summary>
    internal void RecordBlockEntry(LedgerEntryKind kind, Wallet wallet, BlockAccount? block, long units, DateTimeOffset timestamp, ReservationState? attribution) =>
        _writer.Write(Entry(kind, wallet, block, units, timestamp, attribution));

    internal static LedgerEntry Entry(LedgerEntryKind kind, Wallet wallet, BlockAccount? block, long units, DateTimeOffset timestamp, ReservationState? attribution, string? idempotencyKey = null, string? reason = null) => new()
    {
        Timestamp = timestamp,
        Kind = kind,
        CustomerId = wallet.CustomerId,
        CreditType = wallet.Type.Code,
        BlockId = block?.Terms.Id,
        Amount = CreditAmount.FromUnits(units, wallet.Type.Scale),
        Subject = attribution?.Subject,
        Feature = attribution?.Feature,
        Model = attribution?.Model,
        SessionId = attribution?.SessionId,
        RequestId = attribution?.RequestId,
        IdempotencyKey = attribution?.IdempotencyKey ?? idempotencyKey,
        ReservationId = attribution?.Id,
        Reason = reason ?? attribution?.SettleReason,
        CatalogVersion = attribution?.Catalog?.Id,
    };

    private void RestoreFrom(LedgerProjection projection)
    {
        foreach (LedgerProjection.ProjectedWallet projected in projection.Wallets)
        {
            if (!_typeIndex.TryGetValue(projected.CreditType, out int typeIndex))
            {
                throw new UsageGuardException($"The ledger holds credits of type '{projected.CreditType}' (customer '{projected.CustomerId}'), which is not configured. Declare it in UsageGuardOptions.CreditTypes.");
            }

            CustomerAccount customer = AddCustomer(projected.CustomerId);
            var blocks = new List<BlockAccount>(projected.Blocks.Count);
            foreach (LedgerProjection.ProjectedBlock b in projected.Blocks.Values)
            {
                var account = new BlockAccount(b.Terms);
                account.Restore(b.Used, b.Removed, b.ClosedAs);
                blocks.Add(account);
            }

            customer.Wallet(typeIndex).Restore(blocks, projected.Owed);
        }

        // Usage limits and rate tiers go on from what the ledger counted: each meter's window starts from it when it is reached.
        foreach (UsageSnapshot usage in projection.Usage)
        {
            Meter(usage.CustomerId, usage.Usage.Meter).Restore(usage.Usage);
        }
    }

    /// <summary>
    /// Holds do not survive a restart. What a closed (expired or voided) block still had held when the process stopped
    /// would have gone back to the block and been removed; remove it now, so no closed block keeps a balance forever.
    /// </summary>
    private void CloseOutLostHolds(DateTimeOffset now)
    {
        foreach (CustomerAccount customer in _customers.Values)
        {
            foreach (Wallet wallet in customer.Wallets)
            {
                lock (wallet.Gate)
                {
                    foreach (BlockAccount block in wallet.Blocks)
                    {
                        long left = block.IsClosed ? block.RemoveRemainder() : 0;
                        if (left > 0)
                        {
                            RecordBlockEntry(block.ClosedAs, wallet, block, -left, now, null);
                        }
                    }
                }
            }
        }
    }

    private CustomerAccount AddCustomer(string customerId) =>
        _customers.GetOrAdd(customerId, static (id, guard) => new CustomerAccount(guard, id, guard._types.Length), this);

    private CustomerAccount Customer(string customerId) =>
        _customers.TryGetValue(customerId, out CustomerAccount? customer)
            ? customer
            : throw new UnknownCustomerException(customerId, $"Customer '{customerId}' is not known: it has never been granted credits. Grant credits first.");

    private int TypeIndex(string? creditType)
    {
        if (creditType is null)
        {
            return _defaultType;
        }

        return _typeIndex.TryGetValue(creditType, out int index)
            ? index
            : throw new UnknownCreditTypeException(creditType, $"Credit type '{creditType}' is not configured. Configured: {string.Join(", ", _typeIndex.Keys)}.");
    }

    private void ValidateId(string? value, string paramName)
    {
        if (value is null)
        {
            throw new ArgumentNullException(paramName, $"{paramName} is required.");
        }

        ValidateOptionalId(value, paramName);
    }

    private void ValidateOptionalId(string? value, string paramName)
    {
        if (value is null)
        {
            return;
        }

        if (value.Length == 0 || string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException($"{paramName} may not be empty or white space; pass null to leave it out.", paramName);
        }

        if (value.Length > _options.MaxIdLength)
        {
            throw new ArgumentException($"{paramName} is {value.Length} characters long; the limit is {_options.MaxIdLength} (UsageGuardOptions.MaxIdLength).", paramName);
        }
    }

    private static long PositiveUnits(decimal amount, int scale, string paramName)
    {
        if (amount <= 0)
        {
            throw new ArgumentOutOfRangeException(paramName, amount, $"{paramName} must be positive.");
        }

        return FixedPoint.ToUnits(amount, scale, paramName);
    }

    private void ThrowIfRefusing()
    {
        if (Refusing)
        {
            UsageGuardHealth health = _writer.Health;
            throw new LedgerUnavailableException($"The ledger store cannot take writes ({health.LastError!.Message}), and UsageGuardOptions.StoreFailurePolicy is FailClosed: nothing was changed. Retry once the store recovers (see IEntitlementGuard.Health).", health.LastError);
        }
    }

    private string StoreDenialReason() => $"The ledger store cannot take writes ({_writer.Health.LastError?.Message}); new work is refused until it recovers (StoreFailurePolicy.FailClosed).";

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
}
