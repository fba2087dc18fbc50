using Microsoft.Extensions.Logging;

namespace UsageGuard;

/// <summary>
/// Many instances on one shared store (docs/scale-out.md): credit blocks are spent from leases, the store sequences every
/// instance's entries into one chain, and each instance follows the entries the others write.
/// </summary>
internal sealed partial class EntitlementGuard : IPoolEscrowOwner
{
    /// <summary>How often an instance reads the entries other instances appended.</summary>
    internal static readonly TimeSpan FollowInterval = TimeSpan.FromMilliseconds(200);

    private const int TopUpAttempts = 5;

    // The budget window whose lease was short in the last admission on this thread (set by AdmitLimits, taken by the caller at once,
    // before any await): a thread-static, so the hot path's results carry nothing for a mode most guards never run in.
    [ThreadStatic]
    private static LeaseShortfall? t_shortfall;

    // Set around the last attempt after a top-up found the shared pool short: a lease-short window then refuses for real (breaker included).
    [ThreadStatic]
    private static bool t_lastAttempt;

    // Set around an offline attempt (the store unreachable, the feature has an offline allowance): what the leases lack is held against it.
    [ThreadStatic]
    private static OfflineAllowance? t_offline;

    private IPoolEscrow? _escrow;
    private ISharedLedgerStore? _sharedStore;
    private IAsyncDisposable? _changes;
    private readonly Lock _followGate = new();

    /// <summary>The whole ledger (every instance's entries) through <see cref="_followedThrough"/>, kept by the follower under <see cref="_followGate"/>.</summary>
    private LedgerProjection? _followedLedger;
    private LedgerHash _followedHash;
    private long _followedSinceSnapshot;
    private LedgerSnapshot? _snapshotDue;
    private readonly LogThrottle _topUpWarnings = new(LogThrottle.StoreWarnings);
    private readonly LogThrottle _followWarnings = new(LogThrottle.StoreWarnings);
    private bool _leasedLimits;
    private CancellationTokenSource? _followStop;
    private Task? _following;
    private long _followedThrough;

    /// <summary>Gets this instance's leases on the shared pools, or null with one instance (tests).</summary>
    internal IPoolEscrow? Escrow => _escrow;

    /// <summary>Gets whether this guard is one of many instances on a shared store.</summary>
    internal bool IsShared => _escrow is not null;

    /// <summary>Gets the sequence number of the last entry this instance has read from the shared ledger.</summary>
    internal long FollowedThrough => Interlocked.Read(ref _followedThrough);

    void IPoolEscrowOwner.RecordClosedRest(Wallet wallet, BlockAccount block, long units)
    {
        lock (wallet.Gate)
        {
            block.AddRemoved(units);
            RecordBlockEntry(block.ClosedAs, wallet, block, -units, _time.GetUtcNow(), null);
        }
    }

    /// <summary>Refuses, before anything starts, what the many-instance mode does not share yet.</summary>
    private static void CheckSharedOptions(UsageGuardOptions options, RechargeOptions? recharge, WalletAlertOptions? walletAlerts)
    {
        var problems = new List<string>();
        foreach (CreditTypeOptions type in DeclaredOptions(options))
        {
            if (type.OverdraftLimit > 0)
            {
                problems.Add($"credit type '{type.Code}' allows an overdraft (debt is not shared between instances yet)");
            }
        }

        if (recharge is { Wallets.Count: > 0 })
        {
            problems.Add("auto-recharge is configured (it compares a balance each instance does not hold alone)");
        }

        if (walletAlerts is { Wallets.Count: > 0 })
        {
            problems.Add("wallet alerts are configured (they compare a balance each instance does not hold alone)");
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException("The store is shared by many instances, which does not support: " + string.Join("; ", problems) + ". Remove these options, or run one instance (docs/scale-out.md).");
        }
    }

    /// <summary>Starts the many-instance mode: every restored block is spent from leases, and the follower reads the others' entries.</summary>
    /// <param name="shared">The store.</param>
    /// <param name="followedThrough">The last entry the start-up read.</param>
    /// <param name="changesThrough">The last change of the feed the start-up applied.</param>
    /// <param name="projection">The whole ledger through <paramref name="followedThrough"/>: the follower keeps it current and saves it as snapshots.</param>
    /// <param name="lastHash">The hash of the entry <paramref name="followedThrough"/>.</param>
    private void StartShared(ISharedLedgerStore shared, long followedThrough, long changesThrough, LedgerProjection projection, LedgerHash lastHash)
    {
        _followedLedger = projection;
        _followedHash = lastHash;
        _escrow = shared.CreateEscrow(this, _time, _logger);
        _sharedStore = shared;
        foreach (CustomerAccount customer in _customers.Values)
        {
            foreach (Wallet wallet in customer.Wallets)
            {
                lock (wallet.Gate)
                {
                    foreach (BlockAccount block in wallet.Blocks)
                    {
                        _escrow.Track(wallet, block);
                    }
                }
            }
        }

        _followedThrough = followedThrough;
        _followStop = new CancellationTokenSource();
        _following = Task.Run(() => FollowAsync(_followStop.Token));
        _changes = shared.FollowChanges(changesThrough, ApplyFeedChange, _logger);
    }

    private async Task StopSharedAsync()
    {
        if (_changes is not null)
        {
            await _changes.DisposeAsync().ConfigureAwait(false);
        }

        if (_followStop is not null)
        {
            await _followStop.CancelQuietlyAsync().ConfigureAwait(false);
            try
            {
                await _following!.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            _followStop.Dispose();
        }
    }

    /// <summary>Returns the leases, after the writer has committed everything: what they report as spent is final.</summary>
    private ValueTask DisposeEscrowAsync() => _escrow?.DisposeAsync() ?? ValueTask.CompletedTask;

    /// <summary>Tracks a block this instance adds (a grant here, or one followed from another instance). Caller holds the wallet's gate, before the block is published.</summary>
    private void TrackShared(Wallet wallet, BlockAccount block) => _escrow?.Track(wallet, block);

    /// <summary>A block closed here: its lease goes back and the shared pool closes. Caller holds the wallet's gate.</summary>
    internal void BlockClosed(Wallet wallet, BlockAccount block) => _escrow?.Closed(wallet, block);

    /// <summary>Clears the shortfall a keyed or refused attempt may have left on this thread; before an attempt whose shortfall is read.</summary>
    private static void ClearShortfall() => t_shortfall = null;

    /// <summary>Takes the shortfall the attempt just made on this thread left, if any.</summary>
    private static LeaseShortfall? TakeShortfall()
    {
        LeaseShortfall? shortfall = t_shortfall;
        t_shortfall = null;
        return shortfall;
    }

    /// <summary>Describes a window whose lease here cannot hold <paramref name="quantity"/> while its limit has room.</summary>
    private static LeaseShortfall Shortfall(CustomerGovernance governance, CompiledLimit limit, SessionState? session, MeterWindow window, long quantity) =>
        new(window, WindowPool(governance.CustomerId, limit, session, window), limit.CeilingUnits, quantity, limit.Measure != LimitMeasure.InFlight);

    /// <summary>Gets the shared pool of one budget window: the customer, the session of a per-session limit (and its resets), the limit, and the window's start.</summary>
    /// <remarks>Lengths prefix the free-form ids, so two different windows never share a name.</remarks>
    private static string WindowPool(string customerId, CompiledLimit limit, SessionState? session, MeterWindow window) =>
        string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"window:{customerId.Length}:{customerId}:{(limit.PerSession ? session!.Id.Length + ":" + session.Id + ":" + session.Generation : "-")}:{limit.StateKey}:{window.StartTicks}");

    /// <summary>A reservation the leases could not pay (credits or a budget window): top them up (a slice, or exactly what is missing) and try again.</summary>
    private async ValueTask<ReservationResult> ReserveLeasedAsync(ReservationRequest request, Prepared prepared, ReservationResult denied, LeaseShortfall? shortfall, CancellationToken cancellationToken) =>
        await WithTopUpsAsync(denied, shortfall, r => r.Status, () => ReserveCore(request, prepared, _time.GetUtcNow()), prepared, request.Feature, cancellationToken).ConfigureAwait(false)
        ?? new ReservationResult(ReservationStatus.StoreUnavailable, default, StoreDenialReason(), StoreScope, StoreRetryAfter, replayed: false);

    /// <summary>The same for a consumption.</summary>
    private async ValueTask<ConsumeResult> ConsumeLeasedAsync(ReservationRequest request, Prepared prepared, ConsumeResult denied, LeaseShortfall? shortfall, CancellationToken cancellationToken)
    {
        ConsumeResult? result = await WithTopUpsAsync(denied, shortfall, r => r.Status, () => ConsumeCore(request, prepared, _time.GetUtcNow(), null), prepared, request.Feature, cancellationToken).ConfigureAwait(false);
        if (result is not { } done)
        {
            return new ConsumeResult(ReservationStatus.StoreUnavailable, default, StoreDenialReason(), StoreScope, StoreRetryAfter, replayed: false);
        }

        return done.IsAdmitted ? await Durable(done, prepared.Durability, cancellationToken).ConfigureAwait(false) : done;
    }

    /// <summary>
    /// Tops the leases up and tries again while a budget window's lease or the wallet is short, a few times; null when the store cannot
    /// be reached. When a window's shared pool cannot cover the request, one last attempt refuses it for real.
    /// </summary>
    private async ValueTask<T?> WithTopUpsAsync<T>(T denied, LeaseShortfall? shortfall, Func<T, ReservationStatus> status, Func<T> attempt, Prepared prepared, string? feature, CancellationToken cancellationToken)
        where T : struct
    {
        T result = denied;
        for (int i = 0; i < TopUpAttempts && (shortfall is not null || status(result) == ReservationStatus.InsufficientCredits); i++)
        {
            bool? toppedUp = shortfall is not null
                ? await TopUpWindowAsync(shortfall, cancellationToken).ConfigureAwait(false)
                : await TopUpAsync(prepared, feature, cancellationToken).ConfigureAwait(false);
            if (toppedUp is null)
            {
                return shortfall is null ? AttemptOffline(attempt, status, prepared, feature) : null;
            }

            if (toppedUp == false)
            {
                break;
            }

            ClearShortfall();
            result = attempt();
            shortfall = TakeShortfall();
        }

        if (shortfall is not null)
        {
            // The window's pool could not cover it (or others kept taking what was topped up): refuse for real.
            t_lastAttempt = true;
            try
            {
                result = attempt();
            }
            finally
            {
                t_lastAttempt = false;
                ClearShortfall();
            }
        }

        return result;
    }

    /// <summary>
    /// The store cannot be reached and the wallet's leases cannot pay: one attempt that holds what they lack against the feature's
    /// offline allowance (<see cref="FeatureOptions.OfflineAllowance"/>); null (refused as the store being unavailable) when the feature
    /// has none, when what is left of it cannot pay either (the pools may well have credits: the refusal is the store's), or when a
    /// budget window's lease is what is short.
    /// </summary>
    private T? AttemptOffline<T>(Func<T> attempt, Func<T, ReservationStatus> status, Prepared prepared, string? feature)
        where T : struct
    {
        if (feature is null
            || prepared.Catalog?.Features.GetValueOrDefault(feature) is not { OfflineAllowanceUnits: > 0 } offline
            || offline.CreditType != prepared.Wallet.Type.Code)
        {
            return null;
        }

        t_offline = new OfflineAllowance(offline.OfflineAllowanceUnits, _escrow!.Outage);
        T result;
        try
        {
            ClearShortfall();
            result = attempt();
        }
        finally
        {
            t_offline = null;
        }

        return TakeShortfall() is null && status(result) != ReservationStatus.InsufficientCredits ? result : null;
    }

    /// <summary>The error that ends a keyed operation whose leases could not be topped up: nothing ran under its key.</summary>
    private LedgerUnavailableException StoreUnreachable() =>
        new($"The shared store cannot be reached to top up this instance's leases ({_writer.Health.LastError?.Message ?? "connection failed"}); nothing ran, and a retry under the same key is safe.");

    /// <summary>Tops up this instance's lease on a budget window; null when the store cannot be reached.</summary>
    private async ValueTask<bool?> TopUpWindowAsync(LeaseShortfall shortfall, CancellationToken cancellationToken)
    {
        try
        {
            return await _escrow!.TopUpWindowAsync(shortfall, cancellationToken).ConfigureAwait(false);
        }
        catch (LedgerUnavailableException ex)
        {
            WarnTopUpFailed(ex);
            return null;
        }
    }

    /// <summary>Logs that a top-up could not reach the store: at most one line per interval, with how many were held back.</summary>
    private void WarnTopUpFailed(LedgerUnavailableException ex)
    {
        if (_topUpWarnings.Allow(_time, out int heldBack))
        {
            LogTopUpFailed(_logger, heldBack, ex);
        }
    }

    /// <summary>Tops the wallet's leases up; null when the store cannot be reached.</summary>
    private async ValueTask<bool?> TopUpAsync(Prepared prepared, string? feature, CancellationToken cancellationToken)
    {
        try
        {
            return await _escrow!.TopUpAsync(prepared.Wallet, prepared.Units, feature, cancellationToken).ConfigureAwait(false);
        }
        catch (LedgerUnavailableException ex)
        {
            WarnTopUpFailed(ex);
            return null;
        }
    }

    /// <summary>
    /// Claims a key in the shared store before its operation runs here (invariant I3 across instances): null when this instance won it
    /// and runs the operation; else the outcome the first operation stored, once it committed (after following the ledger through it,
    /// so that what it changed is known here). While the first runs on another instance, this one waits for its outcome, or for its
    /// claim to expire when that instance stopped.
    /// </summary>
    /// <exception cref="IdempotencyConflictException">The key holds another operation or payload.</exception>
    /// <exception cref="LedgerUnavailableException">The store cannot be reached.</exception>
    private async ValueTask<IdempotencyOutcome?> ClaimSharedKeyAsync(string customerId, string key, string fingerprint, CancellationToken cancellationToken)
    {
        TimeSpan wait = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            DateTimeOffset now = _time.GetUtcNow();
            KeyClaim claim = await _sharedStore!.ClaimKeyAsync(customerId, key, fingerprint, now, now + _sharedStore.KeyClaimLife, cancellationToken).ConfigureAwait(false);
            if (claim.Claimed)
            {
                return null;
            }

            if (claim.Fingerprint is { } first && !string.Equals(first, fingerprint, StringComparison.Ordinal))
            {
                throw IdempotencyTable.Conflict(customerId, key);
            }

            if (claim.Outcome is { } outcome)
            {
                FollowOnce(cancellationToken);
                return IdempotencyOutcome.Decode(outcome);
            }

            if (claim.Fingerprint is not null)
            {
                await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, FollowInterval.Ticks));
            }
        }
    }

    /// <summary>Releases a claimed key whose operation threw here (bad input changes nothing); a failed release expires with the claim.</summary>
    private async Task ReleaseSharedKeyAsync(string customerId, string key)
    {
        try
        {
            await _sharedStore!.ReleaseKeyAsync(customerId, key).ConfigureAwait(false);
        }
        catch (LedgerUnavailableException ex)
        {
            LogKeyReleaseFailed(_logger, ex);
        }
    }

    /// <summary>
    /// At start-up, appends the batches a previous run of this instance left in its outbox (the store was unreachable when it stopped),
    /// in the order they were spilled. Each keeps its batch id, so one the store already took applies nothing again. While the store
    /// cannot be reached the start fails, as it would reading the ledger, and the files stay.
    /// </summary>
    /// <exception cref="LedgerCorruptedException">A batch file is damaged; the start is refused and the file kept for reconciliation.</exception>
    private static async Task AppendOutboxAsync(LedgerOutbox outbox, ISharedLedgerStore shared, ILogger logger, CancellationToken cancellationToken)
    {
        int appended = 0;
        foreach (string path in outbox.PendingFiles())
        {
            OutboxBatch batch = outbox.Read(path);
            await shared.AppendUnsequencedAsync(batch.BatchId, batch.Entries, batch.Records, cancellationToken).ConfigureAwait(false);
            outbox.Remove(batch);
            appended++;
        }

        if (appended > 0)
        {
            LogOutboxAppended(logger, appended, outbox.Directory);
        }
    }

    /// <summary>Reads, every <see cref="FollowInterval"/>, the entries other instances appended, and applies them here.</summary>
    private async Task FollowAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                FollowOnce(stop);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                if (_followWarnings.Allow(_time, out int heldBack))
                {
                    LogFollowFailed(_logger, heldBack, ex);
                }
            }

            await SaveFollowedSnapshotAsync(stop).ConfigureAwait(false);

            await Task.Delay(FollowInterval, _time, stop).ConfigureAwait(false);
        }
    }

    /// <summary>Reads and applies the entries appended since the last read; returns how many came from other instances.</summary>
    /// <remarks>
    /// Reads first, bounded by the store's stall time-out, then sorts what it read under the writer's append gate. The writer holds the
    /// gate from before an append until it knows the append's numbers, so every entry of this instance's that the read saw is known
    /// by then: an own entry is never applied as another instance's.
    /// </remarks>
    internal int FollowOnce(CancellationToken cancellationToken = default)
    {
        // One reader at a time (the follower, or a replay catching up): two would both apply what they read after the same point.
        lock (_followGate)
        {
            var remote = new List<LedgerEntry>();
            long through = Interlocked.Read(ref _followedThrough);
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var read = new List<LedgerEntry>();
            StoreCall.Bounded(ReadAfterAsync(through, read, cancel.Token), _sharedStore!.StallTimeout, _time, cancel, "reading other instances' entries", () => read.Count);
            lock (_writer.AppendGate)
            {
                IReadOnlyList<(long First, int Count)> doubtful = DoubtfulRanges(read);
                foreach (LedgerEntry entry in read)
                {
                    through = entry.Sequence;
                    if (!_writer.IsOwn(entry.Sequence) && !doubtful.Any(r => entry.Sequence >= r.First && entry.Sequence < r.First + r.Count))
                    {
                        remote.Add(entry);
                    }
                }
            }

            FollowLedger(read);

            foreach (LedgerEntry entry in remote)
            {
                ApplyRemote(entry);
            }

            Interlocked.Exchange(ref _followedThrough, through);
            return remote.Count;
        }
    }

    /// <summary>
    /// Where the writer's batches in doubt (an append failed without a known outcome) were stored, if they were: their entries are
    /// this instance's, already applied here, and must not be applied again as another instance's. Called under the append gate.
    /// </summary>
    private IReadOnlyList<(long First, int Count)> DoubtfulRanges(List<LedgerEntry> read)
    {
        if (_writer.InDoubt.Count == 0 || read.Count == 0)
        {
            return [];
        }

        using var cancel = new CancellationTokenSource();
        return StoreCall.Bounded(_sharedStore!.FindBatchesAsync([.. _writer.InDoubt], cancel.Token).AsTask(), _sharedStore.StallTimeout, _time, cancel, "finding batches in doubt");
    }

    /// <summary>
    /// Applies every entry read, this instance's and the others', to the followed ledger, and notes a snapshot when
    /// <see cref="UsageGuardOptions.SnapshotInterval"/> entries were followed since the last one: with many instances the snapshots
    /// come from here (the writer sees only its own entries), so a start-up replays only the entries after the newest one.
    /// </summary>
    private void FollowLedger(List<LedgerEntry> read)
    {
        if (_followedLedger is not { } ledger || read.Count == 0)
        {
            return;
        }

        foreach (LedgerEntry entry in read)
        {
            if (ledger.Apply(entry, out _, out _) is { } problem)
            {
                // The start-up replay refuses such a ledger; here the entry stays the truth and the problem is reported.
                LogFollowedProblem(_logger, entry.Sequence, problem);
            }

            _followedHash = entry.Hash;
        }

        _followedSinceSnapshot += read.Count;
        if (_options.SnapshotInterval > 0 && _followedSinceSnapshot >= _options.SnapshotInterval)
        {
            Volatile.Write(ref _snapshotDue, ledger.ToSnapshot(read[^1].Sequence, _followedHash));
            _followedSinceSnapshot = 0;
        }
    }

    /// <summary>Saves the snapshot the follower noted, if any. A failure is logged: a snapshot only shortens start-up.</summary>
    private async Task SaveFollowedSnapshotAsync(CancellationToken stop)
    {
        if (Interlocked.Exchange(ref _snapshotDue, null) is not { } snapshot)
        {
            return;
        }

        try
        {
            await StoreCall.BoundedAsync(async c => { await _store.SaveSnapshotAsync(snapshot, c).ConfigureAwait(false); return true; }, _sharedStore!.StallTimeout, _time, "saving a snapshot", stop).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFollowedSnapshotFailed(_logger, snapshot.Sequence, ex);
        }
    }

    /// <summary>Reads the entries after <paramref name="after"/> into <paramref name="into"/>; its count is the read's progress.</summary>
    private async Task<int> ReadAfterAsync(long after, List<LedgerEntry> into, CancellationToken cancellationToken)
    {
        await foreach (LedgerEntry entry in _store.ReadAsync(after, cancellationToken).ConfigureAwait(false))
        {
            into.Add(entry);
        }

        return into.Count;
    }

    /// <summary>
    /// Applies another instance's entry: its grants become spendable here, its use and removals count in balances, its voids close here
    /// too, and its budget usage counts in the budgets' windows.
    /// </summary>
    private void ApplyRemote(in LedgerEntry entry)
    {
        if (!_typeIndex.TryGetValue(entry.CreditType, out int typeIndex))
        {
            LogForeignCreditType(_logger, entry.Sequence, entry.CreditType);
            return;
        }

        Wallet wallet = AddCustomer(entry.CustomerId).Wallet(typeIndex);
        DateTimeOffset now = _time.GetUtcNow();
        long amount = entry.Amount.Units;
        lock (wallet.Gate)
        {
            BlockAccount? block = entry.BlockId is { } id ? wallet.FindLocked(id) : null;
            switch (entry.Kind)
            {
                case LedgerEntryKind.Grant when block is null && entry.Block is { } terms:
                    var account = new BlockAccount(terms);
                    TrackShared(wallet, account);
                    wallet.Add(account, now);
                    wallet.Publish(now);
                    break;
                case LedgerEntryKind.Settle or LedgerEntryKind.Adjust or LedgerEntryKind.OverdraftSettle when block is not null:
                    block.AddRemoteUse(-amount);
                    wallet.Publish(now);
                    break;
                case LedgerEntryKind.Overdraft:
                    // Debt another instance took (its offline allowance): it counts in this wallet's balance here too.
                    wallet.AddRemoteDebt(-amount);
                    break;
                case LedgerEntryKind.Expire or LedgerEntryKind.Void when block is not null:
                    block.AddRemoteRemoved(-amount);
                    if (entry.Kind == LedgerEntryKind.Void && !block.IsClosed)
                    {
                        // Voided elsewhere: this instance's lease on the block is removed too, and recorded by this instance.
                        long removed = block.CloseAs(LedgerEntryKind.Void);
                        if (removed > 0)
                        {
                            RecordBlockEntry(LedgerEntryKind.Void, wallet, block, -removed, now, null);
                        }

                        BlockClosed(wallet, block);
                    }

                    wallet.Publish(now);
                    break;
            }
        }

        if (entry.Kind == LedgerEntryKind.Usage && entry.Usage is { } usage)
        {
            // Its metered use counts here too (never in this instance's leases): plan limits, tiers and checks see every instance.
            Meter(entry.CustomerId, usage.Meter).CountRemote(usage);
        }

        if (entry.Budgeted is not null && _governance.TryGetValue(entry.CustomerId, out CustomerGovernance? governance))
        {
            // Its budget usage counts here too (never in this instance's leases): reports, alerts and the ceiling see every instance.
            Restore(governance, governance.Policy, entry, now.UtcTicks);
        }
    }

    [LoggerMessage(EventId = 146, Level = LogLevel.Warning, Message = "Saving the snapshot through entry {Sequence} failed; start-up replays more entries until the next one is saved.")]
    private static partial void LogFollowedSnapshotFailed(ILogger logger, long sequence, Exception exception);

    [LoggerMessage(EventId = 147, Level = LogLevel.Error, Message = "Entry {Sequence} does not fit the followed ledger: {Problem} A start-up replaying it would refuse the ledger.")]
    private static partial void LogFollowedProblem(ILogger logger, long sequence, string problem);

    [LoggerMessage(EventId = 145, Level = LogLevel.Information, Message = "Appended {Count} batches this instance had kept in its outbox '{Directory}' while the shared store was unreachable.")]
    private static partial void LogOutboxAppended(ILogger logger, int count, string directory);

    [LoggerMessage(EventId = 140, Level = LogLevel.Warning, Message = "Reading the entries of other instances failed; retrying ({HeldBack} more such failures since the last warning).")]
    private static partial void LogFollowFailed(ILogger logger, int heldBack, Exception exception);

    [LoggerMessage(EventId = 141, Level = LogLevel.Warning, Message = "Taking a lease failed: the shared store cannot be reached ({HeldBack} more such failures since the last warning).")]
    private static partial void LogTopUpFailed(ILogger logger, int heldBack, Exception exception);

    [LoggerMessage(EventId = 142, Level = LogLevel.Error, Message = "Entry {Sequence} from another instance is in credit type '{CreditType}', which this instance does not configure; it is skipped here.")]
    private static partial void LogForeignCreditType(ILogger logger, long sequence, string creditType);

    [LoggerMessage(EventId = 143, Level = LogLevel.Warning, Message = "Releasing the claim on an idempotency key whose operation failed did not reach the store; the key is free again when the claim expires.")]
    private static partial void LogKeyReleaseFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 144, Level = LogLevel.Warning, Message = "Claiming an idempotency key failed: the shared store cannot be reached. Nothing ran; the request is refused and is safe to retry under the same key.")]
    private static partial void LogKeyClaimFailed(ILogger logger, Exception exception);
}
