namespace UsageGuard;

/// <summary>
/// One window of a metered feature for one customer: what is used and held in it, updated with CAS. The ceiling is not
/// stored: each request passes the one its catalog snapshot gives, so a plan change applies to the very next request.
/// </summary>
/// <remarks>Thread-safe and lock-free.</remarks>
internal sealed class MeterWindow
{
    private long _consumed;
    private long _held;
    private long _settled;
    private int _alerted;

    internal MeterWindow(long startTicks, long endTicks, UsageWindow kind, long consumed)
    {
        _consumed = consumed;
        _settled = consumed;
        StartTicks = startTicks;
        EndTicks = endTicks;
        Kind = kind;
    }

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
    internal bool TryHold(long quantity, long ceiling, long limit, out long overage)
    {
        long seen = Volatile.Read(ref _consumed);
        while (true)
        {
            // Subtract, not add: the ceiling may be long.MaxValue (a soft limit without a cap).
            if (quantity > ceiling - seen)
            {
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
    }

    /// <summary>Counts <paramref name="quantity"/> without a hold; returns what was counted before it, which places it on a rate's tiers.</summary>
    internal long Count(long quantity) => Interlocked.Add(ref _consumed, quantity) - quantity;

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
