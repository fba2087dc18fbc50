namespace UsageGuard;

/// <summary>
/// One window of a metered feature for one customer: what is used and held in it, updated with CAS. The ceiling is not
/// stored: each request passes the one its catalog snapshot gives, so a plan change applies to the very next request.
/// </summary>
/// <remarks>
/// <para>Thread-safe and lock-free.</para>
/// <para><b>Leased</b> (many instances on one store, docs/scale-out.md): a hold also takes its units from what this instance's lease on
/// the window's shared pool holds, so the instances together never admit more than the ceiling. <see cref="Consumed"/> then counts
/// this instance's use and holds plus the use other instances recorded (followed from the shared ledger), which the lease never pays
/// for twice.</para>
/// </remarks>
internal sealed class MeterWindow : ILeasedCell
{
    private long _consumed;
    private long _held;
    private long _settled;
    private int _alerted;
    private long _leaseAvailable;
    private long _leaseGranted;

    internal MeterWindow(long startTicks, long endTicks, UsageWindow kind, long consumed, bool leased = false)
    {
        _consumed = consumed;
        _settled = consumed;
        StartTicks = startTicks;
        EndTicks = endTicks;
        Kind = kind;
        IsLeased = leased;
    }

    /// <summary>Gets whether holds are paid from this instance's lease on the window's shared pool (many instances).</summary>
    internal bool IsLeased { get; }

    internal long StartTicks { get; }

    internal long EndTicks { get; }

    internal UsageWindow Kind { get; }

    /// <summary>Gets what is used or held: the amount the ceiling is checked against.</summary>
    internal long Consumed => Volatile.Read(ref _consumed);

    /// <summary>Gets what is held by reservations not settled yet.</summary>
    internal long Held => Volatile.Read(ref _held);

    /// <summary>
    /// Gets what settlements used: only ever raised by a settlement, so unlike <see cref="Consumed"/> less <see cref="Held"/> (two reads)
    /// it never counts a hold that a refused request is about to give back.
    /// </summary>
    internal long Settled => Volatile.Read(ref _settled);

    /// <summary>Holds <paramref name="quantity"/> when used + held + quantity stays within <paramref name="ceiling"/>.</summary>
    /// <param name="quantity">The units to hold; positive.</param>
    /// <param name="ceiling">The most the window admits (limit, plus the overage cap of a soft limit).</param>
    /// <param name="limit">The limit above which units are overage.</param>
    /// <param name="overage">The units of this hold that are above <paramref name="limit"/>.</param>
    internal bool TryHold(long quantity, long ceiling, long limit, out long overage) => TryHold(quantity, ceiling, limit, out overage, out _);

    /// <summary>The same; <paramref name="leaseShort"/> tells a refusal by this instance's lease (worth topping up) from one by the ceiling.</summary>
    internal bool TryHold(long quantity, long ceiling, long limit, out long overage, out bool leaseShort)
    {
        leaseShort = false;
        if (IsLeased && !Counter.TryTake(ref _leaseAvailable, quantity))
        {
            overage = 0;
            leaseShort = quantity <= ceiling - Consumed;
            return false;
        }

        long seen = Volatile.Read(ref _consumed);
        while (true)
        {
            // Subtract, not add: the ceiling may be long.MaxValue (a soft limit without a cap).
            if (quantity > ceiling - seen)
            {
                if (IsLeased)
                {
                    Interlocked.Add(ref _leaseAvailable, quantity);
                }

                overage = 0;
                return false;
            }

            long now = Interlocked.CompareExchange(ref _consumed, seen + quantity, seen);
            if (now == seen)
            {
                Interlocked.Add(ref _held, quantity);

                // Exact attribution under concurrency: this hold owns the units between seen and seen + quantity.
                overage = Math.Clamp(seen + quantity - limit, 0, quantity);
                return true;
            }

            seen = now;
        }
    }

    /// <summary>Turns a hold into use: <paramref name="used"/> stays consumed, the rest of <paramref name="held"/> is given back.</summary>
    internal void Settle(long held, long used)
    {
        Interlocked.Add(ref _held, -held);
        if (used != held)
        {
            Interlocked.Add(ref _consumed, used - held);
        }

        if (used != 0)
        {
            Interlocked.Add(ref _settled, used);
        }

        if (IsLeased && used != held)
        {
            // An overrun (used above held) leaves the lease short; the next top-up covers it before anything else is admitted here.
            Interlocked.Add(ref _leaseAvailable, held - used);
        }
    }

    /// <summary>Counts <paramref name="quantity"/> without a hold; returns what was counted before it, which places it on a rate's tiers.</summary>
    internal long Count(long quantity)
    {
        if (IsLeased)
        {
            Interlocked.Add(ref _leaseAvailable, -quantity);
        }

        return Interlocked.Add(ref _consumed, quantity) - quantity;
    }

    /// <summary>
    /// Counts use recorded before this process started, or by another instance (followed from the shared ledger): it counts toward the
    /// ceiling and in reports, and never in this instance's lease.
    /// </summary>
    internal void CountRecorded(long quantity)
    {
        Interlocked.Add(ref _consumed, quantity);
        Interlocked.Add(ref _settled, quantity);
    }

    /// <summary>Gets what this instance's lease holds and no hold here has taken (negative after an overrun, until a top-up).</summary>
    public long Available => Volatile.Read(ref _leaseAvailable);

    /// <summary>Gets what this instance took from its lease: its holds and use in the window since the lease began.</summary>
    public long Committed
    {
        get
        {
            long available = Available;
            return Volatile.Read(ref _leaseGranted) - available;
        }
    }

    /// <summary>Gets false: a window is never closed; its lease ends when it ends.</summary>
    public bool IsClosed => false;

    /// <summary>Adds what a lease granted to what holds can take.</summary>
    public bool AddLeased(long units)
    {
        Interlocked.Add(ref _leaseGranted, units);
        Interlocked.Add(ref _leaseAvailable, units);
        return true;
    }

    /// <summary>Takes back every unit of the lease no hold here has taken (to give it back); 0 when there are none.</summary>
    public long TakeLeased()
    {
        long seen = Volatile.Read(ref _leaseAvailable);
        while (seen > 0)
        {
            long now = Interlocked.CompareExchange(ref _leaseAvailable, 0, seen);
            if (now == seen)
            {
                Interlocked.Add(ref _leaseGranted, -seen);
                return seen;
            }

            seen = now;
        }

        return 0;
    }

    /// <summary>Gets the usage to record for a settlement in this window.</summary>
    internal MeteredUsage Usage(string meter, long quantity) =>
        new(meter, quantity, Kind, new DateTimeOffset(StartTicks, TimeSpan.Zero), new DateTimeOffset(EndTicks, TimeSpan.Zero));

    /// <summary>Marks alert threshold <paramref name="index"/> (below 32) as raised in this window; true for the one caller that marks it first.</summary>
    internal bool TryMarkAlert(int index)
    {
        int bit = 1 << index;
        int seen = Volatile.Read(ref _alerted);
        while ((seen & bit) == 0)
        {
            int now = Interlocked.CompareExchange(ref _alerted, seen | bit, seen);
            if (now == seen)
            {
                return true;
            }

            seen = now;
        }

        return false;
    }

    /// <summary>Gives a whole hold back.</summary>
    internal void Release(long held) => Settle(held, 0);
}
