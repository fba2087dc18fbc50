using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace UsageGuard.PostgreSql;

/// <summary>
/// One instance's leases on the shared credit blocks (<see cref="PostgreSqlLedgerStoreOptions.ManyInstances"/>): each block's local
/// pool spends what this instance's lease on the block holds, with the engine's CAS, and the lease is kept in the background.
/// </summary>
/// <remarks>
/// <para><b>One lease per block and instance</b>, for the instance's life. It grows (one conditional statement) and shrinks. What it
/// used is reported by the store in the same transaction as the settlement entries, so a sweep after a crash counts exactly the
/// use the ledger holds: holds that never settled go back, and no settled unit is sold twice. An instance paused past its lease's
/// TTL and grace that then settles its open holds can overspend by at most those holds (its settlements are still recorded).</para>
/// <para><b>The background refill</b> (every <see cref="PoolLeaseOptions.RefillInterval"/>) tops a lease up when what it holds falls
/// below half a slice; the slice is <see cref="PoolLeaseOptions.TargetLeaseDuration"/> of the instance's measured rate. A lease unused
/// for <see cref="PoolLeaseOptions.IdleReturn"/> gives its units back.</para>
/// <para><b>Near exhaustion</b> (a slice no longer fits) a request that does not fit takes exactly what it misses, block by block in
/// burn order ("direct"), and what it leaves after settling goes back at the next refill, so the last units are neither stranded in an
/// idle instance nor oversold.</para>
/// <para><b>Closing.</b> A block that expires or is voided closes its shared pool: the first instance to close it records the part no
/// lease held as removed, and every instance records its own lease's rest when its local pool closes.</para>
/// </remarks>
internal sealed partial class LeaseEscrow : IPoolEscrow
{
    private readonly PoolLeases _pools;
    private readonly IPoolEscrowOwner _owner;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PoolLeaseOptions _options;
    private readonly TimeSpan _stall;
    private readonly LogThrottle _keepWarnings = new(LogThrottle.StoreWarnings);
    private readonly string _instance = Guid.NewGuid().ToString("N");
    private static readonly TimeSpan UnreachableBackoff = TimeSpan.FromSeconds(1);
    private long _spendableUntilTicks;
    private long _unreachableUntilTicks;
    private readonly ConcurrentDictionary<BlockAccount, Tracked> _tracked = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentDictionary<string, Tracked> _windows = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _lastSweepTicks;

    /// <summary>When a statement on the lease tables last failed (0: never): sweeps wait until the store was reachable for TTL + grace.</summary>
    private long _lastFailureTicks;
    private int _disposed;

    /// <summary>1 when the last statement reached the store (the start reached it): the next failure begins a new outage.</summary>
    private int _reached = 1;
    private long _outage;

    internal LeaseEscrow(PoolLeases pools, IPoolEscrowOwner owner, TimeProvider time, ILogger logger, PoolLeaseOptions options, TimeSpan stallTimeout)
    {
        _stall = stallTimeout;
        _pools = pools;
        _owner = owner;
        _time = time;
        _logger = logger;
        _options = options;
        _loop = Task.Run(() => RefillLoopAsync(_stop.Token));
    }

    /// <summary>
    /// Runs one statement on the lease tables, abandoned (and cancelled) when it stalls past the store's stall time-out: a statement
    /// stuck on a connection the network cut would otherwise hold the lease's gate, and every top-up of the pool waiting on it, for good.
    /// </summary>
    /// <exception cref="TimeoutException">The statement stalled; what it did is unknown, as after a dropped connection.</exception>
    private async Task<T> Bounded<T>(Func<CancellationToken, Task<T>> statement, CancellationToken cancellationToken)
    {
        try
        {
            T result = await StoreCall.BoundedAsync(statement, _stall, _time, "running a lease statement", cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _reached, 1);
            return result;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            Interlocked.Exchange(ref _lastFailureTicks, _time.GetUtcNow().UtcTicks);
            if (Interlocked.Exchange(ref _reached, 0) == 1)
            {
                Interlocked.Increment(ref _outage);
            }

            throw;
        }
    }

    private async Task Bounded(Func<CancellationToken, Task> statement, CancellationToken cancellationToken) =>
        await Bounded(async c => { await statement(c).ConfigureAwait(false); return true; }, cancellationToken).ConfigureAwait(false);

    /// <summary>Gets the lease tables this escrow works on (tests).</summary>
    internal PoolLeases Pools => _pools;

    /// <summary>Gets this instance's id in the lease table.</summary>
    internal string Instance => _instance;

    /// <summary>Gets the shared pool of a credit block.</summary>
    internal static string PoolOf(Guid blockId) => "block:" + blockId.ToString("N");

    /// <summary>Gets how many times a request took exactly what it missed because a slice no longer fit.</summary>
    internal long DirectTopUps => Interlocked.Read(ref _directTopUps);

    private long _directTopUps;

    public void Track(Wallet wallet, BlockAccount block)
    {
        if (_tracked.ContainsKey(block))
        {
            return;
        }

        block.EnterLeasedMode();
        _tracked[block] = new Tracked(block, PoolOf(block.Terms.Id), Guid.CreateVersion7(), block.Used, block.Capacity) { Wallet = wallet, Block = block };
    }

    public void Closed(Wallet wallet, BlockAccount block)
    {
        if (_tracked.TryGetValue(block, out Tracked? tracked))
        {
            tracked.ClosedHere = true;
        }
    }

    public async ValueTask<bool> TopUpAsync(Wallet wallet, long units, string? feature, CancellationToken cancellationToken)
    {
        long missing = units;
        BlockAccount[] blocks = wallet.Spendable;
        foreach (BlockAccount block in blocks)
        {
            if (block.Terms.CanPayFor(feature) && block.Available > 0)
            {
                missing -= block.Available;
            }
        }

        if (missing <= 0)
        {
            return true;
        }

        ThrowIfUnreachable();
        try
        {
            foreach (BlockAccount block in blocks)
            {
                if (missing <= 0)
                {
                    break;
                }

                if (block.IsClosed || !block.Terms.CanPayFor(feature) || !_tracked.TryGetValue(block, out Tracked? t))
                {
                    continue;
                }

                missing -= await GrowForRequestAsync(t, missing, cancellationToken).ConfigureAwait(false);
            }

            if (missing > 0)
            {
                // The pools cannot cover the request from here: give back every fragment this instance holds on them, so that the
                // last units gather in the pools, where one direct top-up (here or on another instance) can take them whole.
                await GiveBackFragmentsAsync(blocks, feature, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw Unreachable(ex);
        }

        return missing <= 0;
    }

    public async ValueTask<bool> TopUpWindowAsync(LeaseShortfall shortfall, CancellationToken cancellationToken)
    {
        ThrowIfUnreachable();
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                long nowTicks = _time.GetUtcNow().UtcTicks;
                Tracked t = _windows.GetOrAdd(
                    shortfall.Pool,
                    static (pool, a) => new Tracked(a.S.Window, pool, Guid.CreateVersion7(), a.S.Window.Settled, a.S.Capacity)
                    {
                        Window = a.S.Window,
                        CountsUse = a.S.CountsUse,
                        LastDemandTicks = a.Now,
                    },
                    (S: shortfall, Now: nowTicks));
                if (!ReferenceEquals(t.Window, shortfall.Window))
                {
                    // The window was replaced under the same name (its budget removed and set again): the old one's lease ends here.
                    await RetireAsync(t, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (t.Capacity != shortfall.Capacity && t.Ensured)
                {
                    // The limit changed: the pool follows it (never below what is used and leased; a lower limit applies as leases end).
                    await Bounded(c => _pools.SetCapacityAsync(t.Pool, shortfall.Capacity, c), cancellationToken).ConfigureAwait(false);
                }

                t.Capacity = shortfall.Capacity;
                long missing = shortfall.Missing - t.Cell.Available;
                if (missing <= 0)
                {
                    return true;
                }

                long granted = await GrowForRequestAsync(t, missing, cancellationToken).ConfigureAwait(false);
                if (granted >= missing)
                {
                    return true;
                }

                if (!t.Finished || attempt > 0)
                {
                    // The pool cannot cover the request from here: this instance's fragment goes back, so that the last units
                    // gather in the pool, where one direct top-up (here or on another instance) can take them whole.
                    await GiveBackAsync(t).ConfigureAwait(false);
                    return false;
                }
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw Unreachable(ex);
        }
    }

    /// <summary>
    /// Notes that the store cannot be reached: for the next second every top-up fails at once instead of each waiting for its own
    /// connection to time out (during an outage, requests are answered from the leases, or refused, without delay).
    /// </summary>
    private LedgerUnavailableException Unreachable(Exception ex)
    {
        Interlocked.Exchange(ref _unreachableUntilTicks, (_time.GetUtcNow() + UnreachableBackoff).UtcTicks);
        return new LedgerUnavailableException("The shared store cannot be reached to take a lease: " + ex.Message, ex);
    }

    /// <summary>Fails a top-up at once while the store was found unreachable less than a second ago.</summary>
    private void ThrowIfUnreachable()
    {
        if (_time.GetUtcNow().UtcTicks < Interlocked.Read(ref _unreachableUntilTicks))
        {
            throw new LedgerUnavailableException("The shared store could not be reached less than a second ago; the lease is not topped up now.");
        }
    }

    private async Task GiveBackAsync(Tracked t)
    {
        await t.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (!t.Finished)
            {
                await ShrinkAsync(t, t.Cell.TakeLeased(), CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            t.Gate.Release();
        }
    }

    /// <summary>Gets every lease this instance keeps: on credit blocks and on budget windows.</summary>
    private IEnumerable<Tracked> AllTracked() => _tracked.Values.Concat(_windows.Values);

    private async Task GiveBackFragmentsAsync(BlockAccount[] blocks, string? feature, CancellationToken cancellationToken)
    {
        foreach (BlockAccount block in blocks)
        {
            if (!block.Terms.CanPayFor(feature) || !_tracked.TryGetValue(block, out Tracked? t) || t.Amount == 0)
            {
                continue;
            }

            await t.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await ShrinkAsync(t, t.Cell.TakeLeased(), CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                t.Gate.Release();
            }
        }
    }

    /// <summary>Returns every lease: what it used becomes used in its pool, the rest goes back. After the engine's writer has committed everything.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelQuietlyAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        foreach (Tracked t in AllTracked())
        {
            await t.Gate.WaitAsync().ConfigureAwait(false);
            try
            {
                if (t.Amount > 0)
                {
                    // Holds still open are abandoned with the process: a block counts only what was used; a window counts them too.
                    long taken = t.Cell.TakeLeased();
                    await Bounded(c => _pools.EndAsync(t.LeaseId, t.Spent(taken), c), CancellationToken.None).ConfigureAwait(false);
                    t.Amount = 0;
                    t.ShrinkingTo = null;
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                // The lease is swept after its TTL, and what it reported counts as used.
                LogReturnFailed(_logger, t.Pool, ex);
            }
            finally
            {
                t.Gate.Release();
            }
        }

        try
        {
            // A lease this instance does not know of (a grow whose answer the shutdown cancelled) ends too, as a sweep would end it.
            int unknown = await Bounded(c => _pools.EndInstanceAsync(_instance, c), CancellationToken.None).ConfigureAwait(false);
            if (unknown > 0)
            {
                LogUnknownLeasesEnded(_logger, unknown);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            LogReturnFailed(_logger, "(all)", ex);
        }

        _stop.Dispose();
    }

    /// <summary>A request misses <paramref name="missing"/> units: take a slice when one fits, else exactly what is missing (or what is left).</summary>
    private async Task<long> GrowForRequestAsync(Tracked t, long missing, CancellationToken cancellationToken)
    {
        await t.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (t.Finished)
            {
                // A closed block, or a window forgotten while this request waited: nothing grows here.
                return 0;
            }

            long nowTicks = _time.GetUtcNow().UtcTicks;
            bool direct = nowTicks < t.DirectUntilTicks;
            if (!direct && nowTicks - t.LastMissTicks < _options.RefillInterval.Ticks)
            {
                // Missed again before the refill could measure the rate (a burst, or many threads sharing a young lease): slices double.
                // Not while going direct: there every request misses, and the slice would double past anything the pool could grant.
                t.Slice = Math.Min(long.MaxValue / 4, Math.Max(t.Slice * 2, missing));
            }

            t.LastMissTicks = nowTicks;
            t.LastDemandTicks = nowTicks;
            await EnsurePoolAsync(t, cancellationToken).ConfigureAwait(false);
            long slice = Math.Max(t.Slice, missing);
            if (!direct)
            {
                long granted = await GrowAsync(t, slice, exact: true, cancellationToken).ConfigureAwait(false);
                if (granted > 0)
                {
                    return granted;
                }

                NoSliceFits(t, nowTicks);
            }

            Interlocked.Increment(ref _directTopUps);
            return await GrowAsync(t, missing, exact: false, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            t.Gate.Release();
        }
    }

    /// <summary>
    /// Not even a slice is left in the pool: requests go direct, and a smaller slice is tried a second later (so a slice grown for a
    /// burst does not keep an instance direct while the pool has room for a smaller one). Caller holds the tracked pool's gate.
    /// </summary>
    private static void NoSliceFits(Tracked t, long nowTicks)
    {
        t.DirectUntilTicks = nowTicks + TimeSpan.TicksPerSecond;
        t.Slice = Math.Max(1, t.Slice / 2);
    }

    private async Task EnsurePoolAsync(Tracked t, CancellationToken cancellationToken)
    {
        if (!t.Ensured)
        {
            await Bounded(c => _pools.EnsurePoolAsync(t.Pool, t.Capacity, t.UsedAtTrack, c), cancellationToken).ConfigureAwait(false);
            t.Ensured = true;
        }
    }

    /// <summary>Grows the lease and adds what it granted to the local pool. Caller holds the tracked block's gate.</summary>
    private async Task<long> GrowAsync(Tracked t, long amount, bool exact, CancellationToken cancellationToken)
    {
        // What a failed statement left in doubt is settled first: the grow's answer is then the lease's amount after it.
        await SettleDoubtAsync(t, cancellationToken).ConfigureAwait(false);
        long askedTicks = _time.GetUtcNow().UtcTicks;
        long granted;
        long total;
        bool created;
        try
        {
            (granted, total, created) = await Bounded(c => _pools.GrowAsync(t.Pool, t.LeaseId, _instance, amount, exact, Expiry(), t.CountsWhole, c), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException)
        {
            // The store may have granted it: the next statement on the lease finds out first (SettleDoubtAsync).
            t.GrowInDoubt = true;
            throw;
        }

        if (granted == 0)
        {
            return 0;
        }

        if (created && t.Amount > 0)
        {
            // The lease was swept while this instance was paused: what it still held locally went back to the pool then.
            LostLease(t);
        }

        // The grow extended the lease's expiry as well: to TTL after the time it was asked (never later than what the store set).
        t.ReportTicks = askedTicks;
        t.Amount = total;

        // At once, not at the next look: an outage right after a first lease must find the lease spendable.
        NoteSpendableUntil();
        if (!t.Cell.AddLeased(granted))
        {
            // Closed meanwhile: the units go back at once.
            await ShrinkAsync(t, granted, cancellationToken).ConfigureAwait(false);
            return 0;
        }

        return granted;
    }

    /// <summary>Gives back <paramref name="units"/> taken out of the cell. Caller holds the tracked pool's gate.</summary>
    /// <remarks>
    /// The units are out of the cell before the statement runs, so when it fails they must still leave the lease: the shrink stays
    /// pending, and the next statement on the lease completes it first (a shrink is idempotent: to an amount, not by one). Before,
    /// a shrink that failed during an outage left its units leased and unspendable until the lease ended.
    /// </remarks>
    private async Task ShrinkAsync(Tracked t, long units, CancellationToken cancellationToken)
    {
        if (units <= 0)
        {
            return;
        }

        if (!await SettleDoubtAsync(t, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        t.ShrinkingTo = t.Amount - units;
        await SettleDoubtAsync(t, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Settles what a failed statement left in doubt on the lease: completes a pending shrink, and after a grow whose answer was lost
    /// (the store may have granted it), adds to the cell what the lease holds at the store beyond what this instance knew of, so that
    /// it is spent rather than stranded until the lease ends. False when the lease was swept meanwhile. Caller holds the gate.
    /// </summary>
    private async Task<bool> SettleDoubtAsync(Tracked t, CancellationToken cancellationToken)
    {
        if (t.GrowInDoubt && t.ShrinkingTo is null)
        {
            long? atStore = await Bounded(c => _pools.LeaseAmountAsync(t.LeaseId, c), cancellationToken).ConfigureAwait(false);
            t.GrowInDoubt = false;
            if (atStore is not { } amount)
            {
                if (t.Amount > 0)
                {
                    LostLease(t);
                    return false;
                }

                return true;
            }

            if (amount > t.Amount)
            {
                long unknown = amount - t.Amount;
                t.Amount = amount;
                if (!t.Cell.AddLeased(unknown))
                {
                    t.ShrinkingTo = t.Amount - unknown;
                }
            }
        }

        if (t.ShrinkingTo is not { } target)
        {
            return true;
        }

        bool kept = await Bounded(c => _pools.ShrinkToAsync(t.LeaseId, target, c), cancellationToken).ConfigureAwait(false);
        t.ShrinkingTo = null;
        if (kept)
        {
            t.Amount = target;
        }
        else
        {
            LostLease(t);
        }

        return kept;
    }

    /// <summary>The lease was swept: stop spending what it held here (the sweep gave it back) and start a fresh one.</summary>
    private void LostLease(Tracked t)
    {
        long seized = t.Cell.TakeLeased();
        LogLeaseLost(_logger, t.Pool, seized);
        t.Amount = 0;
        t.ShrinkingTo = null;
    }

    private DateTimeOffset Expiry() => _time.GetUtcNow() + _options.LeaseTtl;

    private async Task RefillLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.RefillInterval, _time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            foreach (Tracked t in AllTracked())
            {
                try
                {
                    await KeepAsync(t, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
                {
                    if (_keepWarnings.Allow(_time, out int heldBack))
                    {
                        LogKeepFailed(_logger, t.Pool, heldBack, ex);
                    }
                }
            }

            await SweepIfDueAsync(stop).ConfigureAwait(false);
            NoteSpendableUntil();
        }
    }

    /// <inheritdoc />
    public long Outage => Interlocked.Read(ref _outage);

    /// <inheritdoc />
    public DateTimeOffset SpendableUntil => new(Interlocked.Read(ref _spendableUntilTicks), TimeSpan.Zero);

    /// <summary>
    /// After each look at the leases: the earliest expiry the store granted a lease this instance holds. Renewals only move expiries
    /// later, and a lease taken since expires later than this, so until the next look the value can only be earlier than the truth.
    /// </summary>
    private void NoteSpendableUntil()
    {
        long until = long.MaxValue;
        foreach (Tracked t in AllTracked())
        {
            if (t.Amount > 0 && !t.Finished)
            {
                until = Math.Min(until, t.ReportTicks + _options.LeaseTtl.Ticks);
            }
        }

        Interlocked.Exchange(ref _spendableUntilTicks, Math.Min(until, DateTimeOffset.MaxValue.UtcTicks));
    }

    /// <summary>One look at one lease: close, report, top up, or give back.</summary>
    private async Task KeepAsync(Tracked t, CancellationToken stop)
    {
        if (t.Window is { } unleased && t.Amount == 0 && !t.Finished)
        {
            await ForgetIfDoneAsync(t, unleased, stop).ConfigureAwait(false);
            return;
        }

        if (t.Finished || (t.Amount == 0 && !t.ClosedHere))
        {
            return;
        }

        await t.Gate.WaitAsync(stop).ConfigureAwait(false);
        try
        {
            // Past the gate, statements are not cancelled by a shutdown: one whose answer was lost (a close, a grow) would leave this
            // instance not knowing what the store did.
            long nowTicks = _time.GetUtcNow().UtcTicks;
            if (t.Window is { } window && nowTicks >= window.EndTicks)
            {
                // The window ended: its lease ends, and the pool goes when no instance holds a lease on it any more.
                if (t.Amount > 0)
                {
                    await Bounded(c => _pools.EndAsync(t.LeaseId, t.Spent(t.Cell.TakeLeased()), c), CancellationToken.None).ConfigureAwait(false);
                    t.Amount = 0;
                    t.ShrinkingTo = null;
                }

                await Bounded(c => _pools.DropIfUnleasedAsync(t.Pool, c), CancellationToken.None).ConfigureAwait(false);
                t.Finished = true;
                _windows.TryRemove(t.Pool, out _);
                return;
            }

            if (t.Block is { } block && (t.ClosedHere || block.IsClosed))
            {
                // The local pool closed (its rest is recorded here): close the shared pool, record what no lease held, end the lease.
                long rest = await Bounded(c => _pools.CloseAsync(t.Pool, t.Capacity, t.UsedAtTrack, c), CancellationToken.None).ConfigureAwait(false);
                if (rest > 0)
                {
                    _owner.RecordClosedRest(t.Wallet!, block, rest);
                }

                if (t.Amount > 0)
                {
                    await Bounded(c => _pools.EndAsync(t.LeaseId, block.UsedSinceLeased + block.Held, c), CancellationToken.None).ConfigureAwait(false);
                    t.Amount = 0;
                    t.ShrinkingTo = null;
                }

                t.Finished = true;
                return;
            }

            if (!await SettleDoubtAsync(t, CancellationToken.None).ConfigureAwait(false))
            {
                return;
            }

            long committed = t.Cell.Committed;
            long spentSinceLook = committed - t.CommittedAtLook;
            long elapsed = Math.Max(1, nowTicks - t.LookTicks);
            t.CommittedAtLook = committed;
            t.LookTicks = nowTicks;
            if (spentSinceLook > 0)
            {
                t.LastDemandTicks = nowTicks;

                // The slice follows the rate: TargetLeaseDuration of what was spent per tick, smoothed over a few looks.
                long target = (long)Math.Min(long.MaxValue / 4, (decimal)spentSinceLook * _options.TargetLeaseDuration.Ticks / elapsed);
                t.Slice = Math.Max(1, (t.Slice + target) / 2);
            }

            if (nowTicks - t.ReportTicks >= _options.LeaseTtl.Ticks / 3)
            {
                // Renewal only: what the lease used is reported by the store in each batch's transaction, with the entries themselves.
                if (await Bounded(c => _pools.ReportAsync(t.LeaseId, 0, Expiry(), c), CancellationToken.None).ConfigureAwait(false))
                {
                    t.ReportTicks = nowTicks;
                }
                else
                {
                    LostLease(t);
                    return;
                }
            }

            long available = t.Cell.Available;
            bool idle = nowTicks - t.LastDemandTicks >= _options.IdleReturn.Ticks;
            bool direct = nowTicks < t.DirectUntilTicks;
            bool quiet = nowTicks - t.LastDemandTicks >= 2 * _options.RefillInterval.Ticks;
            if ((idle || direct) && available > 0 && quiet)
            {
                // Idle, or near exhaustion: what this instance holds and does not use goes back, for the instance that needs it.
                await ShrinkAsync(t, t.Cell.TakeLeased(), CancellationToken.None).ConfigureAwait(false);
            }
            else if (available > 0 && quiet && nowTicks - t.FreeCheckTicks >= 4 * _options.RefillInterval.Ticks)
            {
                // Quiet, not idle yet: when the pool has less left than this instance holds unused, others are likely short of it
                // (their top-ups fail): it goes back now rather than after the idle delay.
                t.FreeCheckTicks = nowTicks;
                if (await Bounded(c => _pools.FreeAsync(t.Pool, c), CancellationToken.None).ConfigureAwait(false) < available)
                {
                    await ShrinkAsync(t, t.Cell.TakeLeased(), CancellationToken.None).ConfigureAwait(false);
                }
            }
            else if (!idle && !direct && available < t.Slice / 2)
            {
                if (await GrowAsync(t, t.Slice - available, exact: true, CancellationToken.None).ConfigureAwait(false) == 0)
                {
                    NoSliceFits(t, nowTicks);
                }
            }
        }
        finally
        {
            t.Gate.Release();
        }
    }

    /// <summary>Ends the lease of a window replaced by another of the same name, and forgets it.</summary>
    private async Task RetireAsync(Tracked t, CancellationToken cancellationToken)
    {
        await t.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (t.Amount > 0)
            {
                await Bounded(c => _pools.EndAsync(t.LeaseId, t.Spent(t.Cell.TakeLeased()), c), cancellationToken).ConfigureAwait(false);
                t.Amount = 0;
                t.ShrinkingTo = null;
            }

            t.Finished = true;
            _windows.TryRemove(new KeyValuePair<string, Tracked>(t.Pool, t));
        }
        finally
        {
            t.Gate.Release();
        }
    }

    /// <summary>Forgets a window this instance holds no lease on, once it ended or went idle (a later shortfall starts afresh).</summary>
    private async Task ForgetIfDoneAsync(Tracked t, MeterWindow window, CancellationToken stop)
    {
        await t.Gate.WaitAsync(stop).ConfigureAwait(false);
        try
        {
            // Under the gate: a top-up that found this entry either grows it first (and it stays) or sees it finished (and starts afresh).
            long nowTicks = _time.GetUtcNow().UtcTicks;
            if (t.Amount == 0 && t.Cell.Available == 0 && (nowTicks >= window.EndTicks || nowTicks - t.LastDemandTicks >= _options.IdleReturn.Ticks))
            {
                t.Finished = true;
                _windows.TryRemove(new KeyValuePair<string, Tracked>(t.Pool, t));
            }
        }
        finally
        {
            t.Gate.Release();
        }
    }

    /// <summary>
    /// How long after its last failed statement this instance waits before it sweeps: TTL + grace, plus the longest another live
    /// instance may take to append what it settled during the outage once the store is back. That is an attempt that hung when
    /// the store went away, abandoned after the stall time-out, then the ledger writer's longest pause between attempts.
    /// </summary>
    /// <remarks>With TTL + grace alone, a CI run admitted 10,389 credits of 10,000 after a 30 s cut: the other instance's outbox
    /// landed 5 to 10 s after the store came back, after this instance had swept its leases as unused.</remarks>
    private TimeSpan QuietBeforeSweep => _options.LeaseTtl + _options.SweepGrace + _stall + LedgerWriter.MaxDrainBackoff;

    /// <remarks>
    /// No sweep until this instance has reached the store without a failure for <see cref="QuietBeforeSweep"/>. After an outage
    /// every instance was cut off, not only the ones whose leases look expired: they get that long to renew their leases and append
    /// what they settled meanwhile, which the store reports against those leases. Sweeping sooner would hand out, as unused,
    /// capacity they spent during the outage.
    /// </remarks>
    private async Task SweepIfDueAsync(CancellationToken stop)
    {
        long nowTicks = _time.GetUtcNow().UtcTicks;
        if (nowTicks - _lastSweepTicks < _options.LeaseTtl.Ticks / 2
            || nowTicks - Interlocked.Read(ref _lastFailureTicks) < QuietBeforeSweep.Ticks)
        {
            return;
        }

        _lastSweepTicks = nowTicks;
        try
        {
            int swept = await Bounded(c => _pools.SweepAsync(_time.GetUtcNow() - _options.SweepGrace, c), stop).ConfigureAwait(false);
            if (swept > 0)
            {
                LogSwept(_logger, swept);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            if (_keepWarnings.Allow(_time, out int heldBack))
            {
                LogKeepFailed(_logger, "(sweep)", heldBack, ex);
            }
        }
    }

    [LoggerMessage(EventId = 150, Level = LogLevel.Warning, Message = "Keeping the lease on {Pool} failed; retrying at the next refill ({HeldBack} more lease failures since the last warning).")]
    private static partial void LogKeepFailed(ILogger logger, string pool, int heldBack, Exception exception);

    [LoggerMessage(EventId = 151, Level = LogLevel.Warning, Message = "The lease on {Pool} was swept while this instance held it; {Units} units it held locally are no longer spent here.")]
    private static partial void LogLeaseLost(ILogger logger, string pool, long units);

    [LoggerMessage(EventId = 152, Level = LogLevel.Information, Message = "Swept {Count} expired leases of instances that stopped reporting.")]
    private static partial void LogSwept(ILogger logger, int count);

    [LoggerMessage(EventId = 154, Level = LogLevel.Warning, Message = "Ended {Count} leases this instance held without knowing it (a grow the shutdown cancelled), as a sweep would.")]
    private static partial void LogUnknownLeasesEnded(ILogger logger, int count);

    [LoggerMessage(EventId = 153, Level = LogLevel.Warning, Message = "Returning the lease on {Pool} failed; it is swept after its TTL.")]
    private static partial void LogReturnFailed(ILogger logger, string pool, Exception exception);

    /// <summary>What this instance keeps on one shared pool: a credit block's, or a budget window's.</summary>
    private sealed class Tracked(ILeasedCell cell, string pool, Guid leaseId, long usedAtTrack, long capacity)
    {
        /// <summary>Gets the local counter that spends the lease.</summary>
        internal ILeasedCell Cell { get; } = cell;

        /// <summary>Gets the wallet of a credit block, or null.</summary>
        internal Wallet? Wallet { get; init; }

        /// <summary>Gets the credit block, or null for a budget window.</summary>
        internal BlockAccount? Block { get; init; }

        /// <summary>Gets the budget window, or null for a credit block.</summary>
        internal MeterWindow? Window { get; init; }

        /// <summary>Gets whether what the window admits is used for good (else, in flight, it is given back when it settles).</summary>
        internal bool CountsUse { get; init; } = true;

        /// <summary>
        /// Gets whether the lease counts as spent whole until this instance says otherwise: a window's lease (its use is not reported entry
        /// by entry), so a sweep after a crash never sells again what the crashed instance admitted. In-flight leases go back whole.
        /// </summary>
        internal bool CountsWhole => Window is not null && CountsUse;

        internal string Pool { get; } = pool;

        internal Guid LeaseId { get; } = leaseId;

        /// <summary>Gets what the ledger counted as used when tracking began: the shared pool starts from it when this instance creates it.</summary>
        internal long UsedAtTrack { get; } = usedAtTrack;

        /// <summary>Gets or sets the pool's capacity as this instance last set it (a window's limit can change).</summary>
        internal long Capacity { get; set; } = capacity;

        /// <summary>Gets what an ending lease counts as spent once <paramref name="taken"/> unused units were taken back from the cell.</summary>
        internal long Spent(long taken) => Block is { } block ? block.UsedSinceLeased : CountsUse ? Math.Max(0, (ShrinkingTo ?? Amount) - taken) : 0;

        /// <summary>Gets the gate every round trip on this block takes: one at a time per block and instance.</summary>
        internal SemaphoreSlim Gate { get; } = new(1, 1);

        internal long Amount { get; set; }

        /// <summary>Gets or sets the amount a shrink whose statement failed takes the lease to (its units are out of the cell), or null.</summary>
        internal long? ShrinkingTo { get; set; }

        /// <summary>Gets or sets whether a grow failed without a known outcome: the lease may hold more at the store than <see cref="Amount"/>.</summary>
        internal bool GrowInDoubt { get; set; }

        internal long Slice { get; set; } = 1;

        internal bool Ensured { get; set; }

        internal volatile bool ClosedHere;

        internal bool Finished { get; set; }

        internal long DirectUntilTicks { get; set; }

        internal long LastDemandTicks { get; set; }

        internal long LastMissTicks { get; set; }

        internal long FreeCheckTicks { get; set; }

        internal long ReportTicks { get; set; }

        internal long LookTicks { get; set; }

        internal long CommittedAtLook { get; set; }
    }
}
