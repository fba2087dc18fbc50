namespace UsageGuard;

/// <summary>
/// Lets a repeated warning through at most once per interval, and counts the ones it held back. During an outage the loops that
/// reach the store (lease keeping, following, top-ups on the request path) fail every few milliseconds; one line per failure would
/// bury the log.
/// </summary>
/// <remarks>Thread-safe: of the callers that arrive once an interval has passed, exactly one is let through.</remarks>
internal sealed class LogThrottle(TimeSpan interval)
{
    private long _nextTicks = long.MinValue;
    private int _heldBack;

    /// <summary>Gets the throttle of the shared-store warnings: one line per 5 seconds per kind.</summary>
    internal static TimeSpan StoreWarnings { get; } = TimeSpan.FromSeconds(5);

    /// <summary>Returns whether this occurrence is logged; when it is, <paramref name="heldBack"/> is how many were not since the last one.</summary>
    internal bool Allow(TimeProvider time, out int heldBack)
    {
        long now = time.GetUtcNow().UtcTicks;
        long next = Volatile.Read(ref _nextTicks);
        if (now < next || Interlocked.CompareExchange(ref _nextTicks, now + interval.Ticks, next) != next)
        {
            Interlocked.Increment(ref _heldBack);
            heldBack = 0;
            return false;
        }

        heldBack = Interlocked.Exchange(ref _heldBack, 0);
        return true;
    }
}
