namespace UsageGuard;

/// <summary>
/// The counters of one budget limit for one customer (or one session): the current window, rolled lazily at its boundary,
/// and the throttle's next free slot.
/// </summary>
/// <remarks>Thread-safe and lock-free. The limit itself is not stored: each request passes the one its policy gives, so a changed budget applies to the very next request and keeps what the window counted.</remarks>
internal sealed class LimitState
{
    private readonly FeatureMeter? _meter;
    private readonly MeterWindow? _lifetime;
    private long _nextSlotTicks;

    /// <param name="windowed">Whether the limit counts in windows (else for its lifetime).</param>
    /// <param name="leased">Whether its windows spend from leases on shared pools (many instances).</param>
    internal LimitState(bool windowed, bool leased = false)
    {
        if (windowed)
        {
            _meter = new FeatureMeter(leased);
        }
        else
        {
            _lifetime = new MeterWindow(0, long.MaxValue, UsageWindow.Year, 0, leased);
        }
    }

    /// <summary>Gets the window holding <paramref name="nowTicks"/>, or the lifetime counter of a limit without a window.</summary>
    internal MeterWindow WindowAt(long nowTicks, PeriodCalendar calendar, UsageWindow? window) =>
        _lifetime ?? _meter!.WindowAt(nowTicks, calendar, window.GetValueOrDefault());

    /// <summary>Gets the current window without starting one (null when no request reached it yet).</summary>
    internal MeterWindow? Peek(long nowTicks, UsageWindow? window) =>
        _lifetime ?? _meter!.Peek(nowTicks, window.GetValueOrDefault());

    /// <summary>Gets the meter of a windowed limit, for restoring counts.</summary>
    internal FeatureMeter? Meter => _meter;

    /// <summary>Takes the throttle's slot when it is due; <paramref name="previous"/> is what to put back to undo it.</summary>
    internal bool TryTakeSlot(long nowTicks, long intervalTicks, out long previous, out long nextTicks)
    {
        previous = Volatile.Read(ref _nextSlotTicks);
        while (nowTicks >= previous)
        {
            long seen = Interlocked.CompareExchange(ref _nextSlotTicks, nowTicks + intervalTicks, previous);
            if (seen == previous)
            {
                nextTicks = nowTicks + intervalTicks;
                return true;
            }

            previous = seen;
        }

        nextTicks = previous;
        return false;
    }

    /// <summary>Gives a slot back when the request that took it is refused elsewhere (unless another request took the next one meanwhile).</summary>
    internal void ReturnSlot(long taken, long previous) => Interlocked.CompareExchange(ref _nextSlotTicks, previous, taken);
}
