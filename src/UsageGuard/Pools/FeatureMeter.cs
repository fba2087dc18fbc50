namespace UsageGuard;

/// <summary>
/// A customer's usage of one meter (a metered feature, or a tiered rate's tokens): the current window, replaced lazily when time
/// passes its end.
/// </summary>
/// <remarks>
/// Thread-safe and lock-free. No timer: the first access after a boundary starts the new window, exactly at the boundary. A window
/// that the ledger already counted usage in before a restart starts from that usage (<see cref="Restore"/>).
/// </remarks>
internal sealed class FeatureMeter
{
    private static readonly MeterWindow Unstarted = new(0, 0, UsageWindow.Hour, 0);
    private MeterWindow _window = Unstarted;

    private readonly bool _leased;

    // Written only while the guard starts, before any request can see the meter.
    private MeteredUsage[] _restored = [];

    /// <param name="leased">Whether its windows spend from leases on shared pools (many instances).</param>
    internal FeatureMeter(bool leased = false) => _leased = leased;

    /// <summary>Remembers the usage the ledger counted in a window before a restart; the window starts from it when it is reached.</summary>
    internal void Restore(in MeteredUsage usage) => _restored = [.. _restored, usage];

    /// <summary>Gets the window that contains <paramref name="nowTicks"/>, starting it when the current one has ended.</summary>
    internal MeterWindow WindowAt(long nowTicks, PeriodCalendar calendar, UsageWindow kind)
    {
        MeterWindow window = Volatile.Read(ref _window);
        if (window.Kind == kind && nowTicks < window.EndTicks)
        {
            // A thread whose clock read is a little older than the boundary another thread crossed counts in the newer window:
            // a window is never replaced by an earlier one, which would reset what the newer one counted.
            return window;
        }

        return Roll(window, nowTicks, calendar, kind);
    }

    /// <summary>Gets the current window without starting one, or null when there is none for <paramref name="nowTicks"/>.</summary>
    internal MeterWindow? Peek(long nowTicks, UsageWindow kind)
    {
        MeterWindow window = Volatile.Read(ref _window);
        return window.Kind == kind && nowTicks >= window.StartTicks && nowTicks < window.EndTicks ? window : null;
    }

    private MeterWindow Roll(MeterWindow seen, long nowTicks, PeriodCalendar calendar, UsageWindow kind)
    {
        UsagePeriod period = calendar.Containing(new DateTimeOffset(nowTicks, TimeSpan.Zero), kind);
        var fresh = new MeterWindow(period.Start.UtcTicks, period.End.UtcTicks, kind, RestoredIn(period, kind), _leased);
        while (true)
        {
            MeterWindow current = Interlocked.CompareExchange(ref _window, fresh, seen);
            if (current == seen)
            {
                return fresh;
            }

            if (current.Kind == kind && nowTicks < current.EndTicks)
            {
                return current;
            }

            seen = current;
        }
    }

    /// <summary>Gets what the ledger counted before a restart in the window <paramref name="period"/> (0 when nothing).</summary>
    internal long RestoredIn(UsagePeriod period, UsageWindow kind)
    {
        foreach (MeteredUsage usage in _restored)
        {
            if (usage.Window == kind && usage.WindowStart == period.Start && usage.WindowEnd == period.End)
            {
                return usage.Quantity;
            }
        }

        return 0;
    }
}
