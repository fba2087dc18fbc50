namespace UsageGuard;

/// <summary>
/// Pools <see cref="ReservationState"/> objects and knows every one of them, so unsettled reservations past their TTL
/// can be found and released lazily (invariant I5) without a background thread.
/// </summary>
/// <remarks>Rent and return are lock-free (a CAS on a slot); creating a new state, which happens only when concurrency rises, takes a lock.</remarks>
internal sealed class ReservationRegistry
{
    [ThreadStatic]
    private static ReservationState? t_cached;

    private readonly EntitlementGuard _guard;
    private readonly ReservationState?[] _free;
    private readonly Lock _growth = new();
    private ReservationState[] _all = [];
    private int _count;
    private long _earliestDeadline = long.MaxValue;

    internal ReservationRegistry(EntitlementGuard guard, int poolSize)
    {
        _guard = guard;
        _free = new ReservationState?[poolSize];
    }

    /// <summary>Gets the number of state objects ever created: the peak of concurrent reservations, not their total.</summary>
    internal int Created => Volatile.Read(ref _count);

    internal ReservationState Rent()
    {
        // A one-slot cache per thread serves the common reserve-then-settle-on-the-same-thread cycle without a CAS.
        ReservationState? cached = t_cached;
        if (cached is not null)
        {
            t_cached = null;
            if (ReferenceEquals(cached.Guard, _guard))
            {
                return cached;
            }

            // Another guard's state: back to that guard's own pool, so this thread does not keep that guard alive.
            cached.Guard.Reservations.ReturnToPool(cached);
        }

        ReservationState?[] free = _free;
        for (int i = 0; i < free.Length; i++)
        {
            ReservationState? state = Volatile.Read(ref free[i]);
            if (state is not null && Interlocked.CompareExchange(ref free[i], null, state) == state)
            {
                return state;
            }
        }

        return Create();
    }

    internal void Return(ReservationState state)
    {
        state.ClearHolds();
        state.ClearLimitHolds();
        if (t_cached is null)
        {
            t_cached = state;
            return;
        }

        ReturnToPool(state);
    }

    private void ReturnToPool(ReservationState state)
    {
        ReservationState?[] free = _free;
        for (int i = 0; i < free.Length; i++)
        {
            if (Volatile.Read(ref free[i]) is null && Interlocked.CompareExchange(ref free[i], state, null) is null)
            {
                return;
            }
        }

        // The pool is full: the object stays in the registry (as finished) and is simply not reused.
    }

    internal void NoteDeadline(long deadlineTicks)
    {
        long current = Volatile.Read(ref _earliestDeadline);
        while (deadlineTicks < current)
        {
            long seen = Interlocked.CompareExchange(ref _earliestDeadline, deadlineTicks, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>Releases every active reservation whose deadline is at or before <paramref name="nowTicks"/>; returns how many.</summary>
    internal int ReclaimExpired(long nowTicks)
    {
        if (nowTicks < Volatile.Read(ref _earliestDeadline))
        {
            return 0;
        }

        // Reset first: a reservation activated during the scan lowers the hint again itself.
        Interlocked.Exchange(ref _earliestDeadline, long.MaxValue);
        int reclaimed = 0;
        long nextDeadline = long.MaxValue;
        ReservationState[] all = Volatile.Read(ref _all);
        int count = Math.Min(Volatile.Read(ref _count), all.Length);
        for (int i = 0; i < count; i++)
        {
            ReservationState state = all[i];
            long stamp = state.ReadStamp();
            if ((stamp & 7) != ReservationState.Active)
            {
                continue;
            }

            long id = stamp >> 3;
            long deadline = state.DeadlineTicks;
            if (deadline > nowTicks)
            {
                nextDeadline = Math.Min(nextDeadline, deadline);
                continue;
            }

            if (state.TryBegin(id))
            {
                _guard.ReleaseHolds(state, ReservationState.Expired, new DateTimeOffset(deadline, TimeSpan.Zero));
                reclaimed++;
            }
        }

        NoteDeadline(nextDeadline);
        return reclaimed;
    }

    private ReservationState Create()
    {
        var state = new ReservationState(_guard);
        lock (_growth)
        {
            if (_count == _all.Length)
            {
                var grown = new ReservationState[Math.Max(16, _all.Length * 2)];
                Array.Copy(_all, grown, _count);
                Volatile.Write(ref _all, grown);
            }

            _all[_count] = state;
            Volatile.Write(ref _count, _count + 1);
        }

        return state;
    }
}
