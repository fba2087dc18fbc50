namespace UsageGuard.PostgreSql;

/// <summary>
/// One instance's side of an escrow lease on one pool: reservations take units from a local lease with a CAS (no round trip),
/// the lease is replaced by a fresh slice when it runs out, and near exhaustion each reservation goes to the pool directly.
/// </summary>
/// <remarks>
/// <para>The slice adapts to the instance's rate: a lease used up faster than <see cref="Options.TargetLeaseDuration"/> makes the next
/// one twice as large, one that lasted four times longer makes it half as large, within <see cref="Options.MinSlice"/> and
/// <see cref="Options.MaxSlice"/>. When not even the smallest slice is left in the pool, reservations spend directly (one
/// conditional update each) until a lease fits again, so the last units are neither stranded nor oversold.</para>
/// <para>What a lease spent is reported when it is replaced and when the pool is disposed; a lease is taken with a TTL, so the
/// pool's sweeper gives back the lease of an instance that died. Not yet wired into the engine (docs/scale-out.md). Thread-safe.</para>
/// </remarks>
internal sealed class LeasedPool : IAsyncDisposable
{
    private readonly PoolLeases _pools;
    private readonly string _pool;
    private readonly string _instance;
    private readonly TimeProvider _time;
    private readonly Options _options;
    private readonly SemaphoreSlim _refill = new(1, 1);
    private PoolLeases.Lease? _lease;
    private long _remaining;
    private long _slice;
    private long _leaseTakenTicks;
    private long _nextLeaseAttemptTicks;
    private long _directSpends;
    private int _disposed;

    internal LeasedPool(PoolLeases pools, string pool, string instance, TimeProvider time, Options? options = null)
    {
        _pools = pools;
        _pool = pool;
        _instance = instance;
        _time = time;
        _options = options ?? new Options();
        _slice = _options.InitialSlice;
    }

    /// <summary>Gets the size of the next slice.</summary>
    internal long Slice => Volatile.Read(ref _slice);

    /// <summary>Gets how many reservations went to the pool directly (near exhaustion).</summary>
    internal long DirectSpends => Interlocked.Read(ref _directSpends);

    /// <summary>Takes <paramref name="units"/>: from the local lease when it has them (no round trip), else from a fresh slice or directly.</summary>
    internal ValueTask<bool> TryTakeAsync(long units, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(units);
        return Counter.TryTake(ref _remaining, units) ? ValueTask.FromResult(true) : new ValueTask<bool>(SlowAsync(units, cancellationToken));
    }

    private async Task<bool> SlowAsync(long units, CancellationToken cancellationToken)
    {
        await _refill.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Another thread may have refilled while this one waited.
            if (Counter.TryTake(ref _remaining, units))
            {
                return true;
            }

            long nowTicks = _time.GetUtcNow().UtcTicks;
            await ReturnCurrentAsync(nowTicks, cancellationToken).ConfigureAwait(false);
            if (nowTicks >= Volatile.Read(ref _nextLeaseAttemptTicks))
            {
                long slice = Math.Max(Volatile.Read(ref _slice), units);
                PoolLeases.Lease? lease = await _pools.TakeAsync(_pool, _instance, slice, _time.GetUtcNow() + _options.LeaseTtl, cancellationToken).ConfigureAwait(false);
                if (lease is not null)
                {
                    _lease = lease;
                    _leaseTakenTicks = nowTicks;
                    Volatile.Write(ref _remaining, lease.Amount - units);
                    return true;
                }

                // Not even one slice is left: go direct, and try a lease again later (others may return theirs).
                Volatile.Write(ref _slice, Math.Max(_options.MinSlice, slice / 2));
                Volatile.Write(ref _nextLeaseAttemptTicks, nowTicks + _options.DirectModeRetry.Ticks);
            }

            if (await _pools.SpendDirectAsync(_pool, units, cancellationToken).ConfigureAwait(false))
            {
                Interlocked.Increment(ref _directSpends);
                return true;
            }

            return false;
        }
        finally
        {
            _refill.Release();
        }
    }

    /// <summary>Gives the current lease back with what it spent, and sizes the next slice by how long it lasted. Called under the refill gate.</summary>
    private async Task ReturnCurrentAsync(long nowTicks, CancellationToken cancellationToken)
    {
        if (_lease is not { } lease)
        {
            return;
        }

        // Exchange first: a reservation that races this sees 0 and comes here, instead of spending from a lease being returned.
        long unspent = Math.Max(0, Interlocked.Exchange(ref _remaining, 0));
        long spent = lease.Amount - unspent;
        _lease = null;
        await _pools.ReturnAsync(lease, spent, cancellationToken).ConfigureAwait(false);
        long lasted = nowTicks - _leaseTakenTicks;
        long slice = Volatile.Read(ref _slice);
        if (unspent == 0 && lasted < _options.TargetLeaseDuration.Ticks)
        {
            slice = Math.Min(_options.MaxSlice, slice * 2);
        }
        else if (lasted > 4 * _options.TargetLeaseDuration.Ticks)
        {
            slice = Math.Max(_options.MinSlice, slice / 2);
        }

        Volatile.Write(ref _slice, slice);
    }

    /// <summary>Returns the lease, with what it spent, so its rest is available to other instances at once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _refill.WaitAsync().ConfigureAwait(false);
        try
        {
            await ReturnCurrentAsync(_time.GetUtcNow().UtcTicks, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _refill.Release();
            _refill.Dispose();
        }
    }

    /// <summary>How leases are sized and kept.</summary>
    internal sealed class Options
    {
        internal long InitialSlice { get; init; } = 64;

        internal long MinSlice { get; init; } = 1;

        internal long MaxSlice { get; init; } = 1_000_000;

        /// <summary>Gets how long a slice should last at the instance's rate (the slice doubles or halves toward it).</summary>
        internal TimeSpan TargetLeaseDuration { get; init; } = TimeSpan.FromSeconds(2);

        internal TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(30);

        /// <summary>Gets how long the pool spends directly before trying a lease again.</summary>
        internal TimeSpan DirectModeRetry { get; init; } = TimeSpan.FromSeconds(1);
    }
}
