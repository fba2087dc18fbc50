namespace UsageGuard;

/// <summary>
/// One limited quantity updated with compare-and-swap: the escrow cell under every kind of limit.
/// </summary>
/// <remarks>
/// <para><c>available</c> is the gate: a hold is admitted only by a CAS that keeps it at or above zero,
/// so used + held never exceeds capacity (invariant I1), under any interleaving.</para>
/// <para>Counters move in an order that keeps any observer's view of used + held at or below capacity:
/// a hold lowers <c>available</c> before it raises <c>held</c>; a settlement lowers <c>held</c> before it
/// raises <c>used</c>.</para>
/// <para>A closed pool (expired, voided) has <c>available</c> = <see cref="ClosedMarker"/>: no new hold can
/// pass, and whatever a hold gives back is reported to the caller instead of being made available again.</para>
/// </remarks>
internal class Pool : ILeasedCell
{
    internal const long ClosedMarker = long.MinValue;

    private long _available;
    private long _held;
    private long _used;
    private long _removed;
    private long _remoteUsed;
    private long _remoteRemoved;
    private long _leaseBase;

    internal Pool(long capacity)
    {
        Capacity = capacity;
        _available = capacity;
    }

    internal long Capacity { get; }

    /// <summary>Gets what can be held now, or a negative number when closed.</summary>
    internal long Available => Volatile.Read(ref _available);

    internal long Held => Volatile.Read(ref _held);

    internal long Used => Volatile.Read(ref _used);

    /// <summary>Gets what closing took away (expired or voided) and what holds gave back after it.</summary>
    internal long Removed => Volatile.Read(ref _removed);

    internal bool IsClosed => Volatile.Read(ref _available) == ClosedMarker;

    /// <summary>Gets capacity less used and removed (here and, in leased mode, by other instances): what the ledger calls the block's balance.</summary>
    internal long Remaining => Capacity - Used - Removed - Volatile.Read(ref _remoteUsed) - Volatile.Read(ref _remoteRemoved);

    /// <summary>Gets whether <c>available</c> is what this instance's leases hold (many instances) rather than capacity less use.</summary>
    internal bool IsLeased { get; private set; }

    /// <summary>Gets what this instance has used or holds since the pool became leased: what its lease reports as spent.</summary>
    /// <remarks>Held is read before used: a settlement lowers held before it raises used, so the sum errs high (the pool
    /// counts a unit as spent a moment early), never low (a unit spent here would otherwise be leased to another instance).</remarks>
    internal long Committed
    {
        get
        {
            long held = Held;
            return held + Used - _leaseBase;
        }
    }

    /// <summary>Gets what this instance has used since the pool became leased: what a returned lease counts as spent.</summary>
    internal long UsedSinceLeased => Used - _leaseBase;

    /// <summary>
    /// Makes <c>available</c> what this instance's leases hold: zero until the first lease arrives. At start-up (or when the block
    /// is added), before the pool is shared; what the ledger counted as used so far is the base of what leases report.
    /// </summary>
    internal void EnterLeasedMode()
    {
        IsLeased = true;
        _leaseBase = _used;
        if (_available != ClosedMarker)
        {
            _available = 0;
        }
    }

    /// <summary>Adds a lease's units to what can be held; false (nothing added) when the pool closed.</summary>
    internal bool AddLeased(long units) => GiveBackOpen(units);

    /// <summary>Takes back every unit the local lease holds and nobody holds (to return or shrink the lease); 0 when closed.</summary>
    internal long TakeLeased()
    {
        long taken = 0;
        return TakeUpTo(long.MaxValue, ref taken);
    }

    /// <summary>Counts use that another instance recorded (from the shared ledger), for balances only: this instance's lease is untouched.</summary>
    internal void AddRemoteUse(long units) => Interlocked.Add(ref _remoteUsed, units);

    /// <summary>Counts what another instance removed (expired or voided) from this block, for balances only.</summary>
    internal void AddRemoteRemoved(long units) => Interlocked.Add(ref _remoteRemoved, units);

    /// <summary>Counts as removed what this instance recorded for the pool's unleased rest when it closed the shared pool.</summary>
    internal void AddRemoved(long units) => Interlocked.Add(ref _removed, units);

    long ILeasedCell.Available => Available;

    long ILeasedCell.Committed => Committed;

    bool ILeasedCell.IsClosed => IsClosed;

    bool ILeasedCell.AddLeased(long units) => AddLeased(units);

    long ILeasedCell.TakeLeased() => TakeLeased();

    internal bool TryHold(long amount)
    {
        long available = Volatile.Read(ref _available);
        while (available >= amount)
        {
            long seen = Interlocked.CompareExchange(ref _available, available - amount, available);
            if (seen == available)
            {
                Interlocked.Add(ref _held, amount);
                return true;
            }

            available = seen;
        }

        return false;
    }

    /// <summary>Holds as much of <paramref name="amount"/> as is available; returns what was held.</summary>
    internal long HoldUpTo(long amount) => TakeUpTo(amount, ref _held);

    /// <summary>Turns part of a hold into use and gives the rest back.</summary>
    /// <returns>What could not be given back because the pool closed meanwhile; the caller records it as removed.</returns>
    internal long Settle(long held, long used)
    {
        Interlocked.Add(ref _held, -held);
        if (used != 0)
        {
            Interlocked.Add(ref _used, used);
        }

        return GiveBack(held - used);
    }

    /// <summary>Uses credits straight from what is available, with no hold (settlement overruns, corrections).</summary>
    internal long ConsumeUpTo(long amount) => TakeUpTo(amount, ref _used);

    /// <summary>Undoes use (a refund unwinding a charge); only on an open pool and up to what was used.</summary>
    /// <remarks>Called under the wallet lock, which every close also takes, so the pool cannot close halfway.</remarks>
    internal bool TryRestore(long amount)
    {
        if (amount > Used || IsClosed)
        {
            return false;
        }

        Interlocked.Add(ref _used, -amount);
        long lost = GiveBack(amount);
        System.Diagnostics.Debug.Assert(lost == 0, "A pool closed outside the wallet lock.");
        return true;
    }

    /// <summary>Closes the pool; returns what was neither used nor held, now removed.</summary>
    internal long Close()
    {
        long available = Interlocked.Exchange(ref _available, ClosedMarker);
        if (available == ClosedMarker)
        {
            return 0;
        }

        Interlocked.Add(ref _removed, available);
        return available;
    }

    /// <summary>Removes whatever a closed pool still counts as remaining (holds lost in a restart); returns it.</summary>
    internal long RemoveRemainder()
    {
        long left = Remaining - Held;
        if (left > 0)
        {
            Interlocked.Add(ref _removed, left);
        }

        return Math.Max(0, left);
    }

    /// <summary>Restores counters from the ledger at start-up, before the pool is shared.</summary>
    internal void Restore(long used, long removed, bool closed)
    {
        _used = used;
        _removed = removed;
        _held = 0;
        _available = closed ? ClosedMarker : Capacity - used - removed;
    }

    /// <summary>Takes up to <paramref name="amount"/> from what is available and adds it to <paramref name="into"/> (held or used).</summary>
    private long TakeUpTo(long amount, ref long into)
    {
        long available = Volatile.Read(ref _available);
        while (available > 0)
        {
            long take = Math.Min(available, amount);
            long seen = Interlocked.CompareExchange(ref _available, available - take, available);
            if (seen == available)
            {
                Interlocked.Add(ref into, take);
                return take;
            }

            available = seen;
        }

        return 0;
    }

    private bool GiveBackOpen(long amount)
    {
        long available = Volatile.Read(ref _available);
        while (available != ClosedMarker)
        {
            long seen = Interlocked.CompareExchange(ref _available, available + amount, available);
            if (seen == available)
            {
                return true;
            }

            available = seen;
        }

        return false;
    }

    private long GiveBack(long amount)
    {
        if (amount == 0)
        {
            return 0;
        }

        long available = Volatile.Read(ref _available);
        while (available != ClosedMarker)
        {
            long seen = Interlocked.CompareExchange(ref _available, available + amount, available);
            if (seen == available)
            {
                return 0;
            }

            available = seen;
        }

        Interlocked.Add(ref _removed, amount);
        return amount;
    }
}
