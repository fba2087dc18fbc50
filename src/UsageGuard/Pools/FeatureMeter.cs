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
    private readonly Lock _gate = new();
    private readonly bool _leased;
    private MeterWindow _window = Unstarted;

    // Written while the guard starts, and under the gate by the follower (others' use in a window not started here yet).
    private MeteredUsage[] _restored = [];

    /// <param name="leased">Whether its windows spend from leases on shared pools (many instances), unless a window says otherwise.</param>
    internal FeatureMeter(bool leased = false) => _leased = leased;

    /// <summary>Remembers the usage the ledger counted in a window before a restart; the window starts from it when it is reached.</summary>
    internal void Restore(in MeteredUsage usage) => _restored = [.. _restored, usage];

    /// <summary>Gets the window that contains <paramref name="nowTicks"/>, starting it when the current one has ended.</summary>
    internal MeterWindow WindowAt(long nowTicks, PeriodCalendar calendar, UsageWindow kind) => WindowAt(nowTicks, calendar, kind, _leased);

    /// <summary>The same; a window started here is leased when <paramref name="leased"/> (a window keeps its mode until it ends).</summary>
    internal MeterWindow WindowAt(long nowTicks, PeriodCalendar calendar, UsageWindow kind, bool leased)
    {
        MeterWindow window = Volatile.Read(ref _window);
        if (window.Kind == kind && nowTicks < window.EndTicks)
        {
            // A thread whose clock read is a little older than the boundary another thread crossed counts in the newer window:
            // a window is never replaced by an earlier one, which would reset what the newer one counted.
            return window;
        }

        return Roll(nowTicks, calendar, kind, leased);
    }

    /// <summary>Gets the current window without starting one, or null when there is none for <paramref name="nowTicks"/>.</summary>
    internal MeterWindow? Peek(long nowTicks, UsageWindow kind)
    {
        MeterWindow window = Volatile.Read(ref _window);
        return window.Kind == kind && nowTicks >= window.StartTicks && nowTicks < window.EndTicks ? window : null;
    }

    /// <summary>
    /// Counts use another instance recorded (followed from the shared ledger): in the window that counts it here, or remembered for
    /// that window when it has not started here yet. Use in a window older than the current one is history only.
    /// </summary>
    internal void CountRemote(in MeteredUsage usage)
    {
        long start = usage.WindowStart.UtcTicks;
        lock (_gate)
        {
            MeterWindow window = _window;
            if (window.Kind == usage.Window && window.StartTicks == start && window != Unstarted)
            {
                window.CountRecorded(usage.Quantity);
                return;
            }

            if (window != Unstarted && window.Kind == usage.Window && window.StartTicks > start)
            {
                return;
            }

            // Not started here yet: the window starts from it. Older windows of the same kind are dropped, they will not start.
            var kept = new List<MeteredUsage>(_restored.Length + 1);
            long quantity = usage.Quantity;
            foreach (MeteredUsage restored in _restored)
            {
                if (restored.SameWindow(usage))
                {
                    quantity = checked(quantity + restored.Quantity);
                }
                else if (restored.Window != usage.Window || restored.WindowStart > usage.WindowStart)
                {
                    kept.Add(restored);
                }
            }

            kept.Add(new MeteredUsage(usage.Meter, quantity, usage.Window, usage.WindowStart, usage.WindowEnd));
            _restored = [.. kept];
        }
    }

    // Under the gate: the follower never counts in a window between the read of what was remembered for it and its start.
    private MeterWindow Roll(long nowTicks, PeriodCalendar calendar, UsageWindow kind, bool leased)
    {
        lock (_gate)
        {
            MeterWindow current = _window;
            if (current.Kind == kind && nowTicks < current.EndTicks)
            {
                return current;
            }

            UsagePeriod period = calendar.Containing(new DateTimeOffset(nowTicks, TimeSpan.Zero), kind);
            var fresh = new MeterWindow(period.Start.UtcTicks, period.End.UtcTicks, kind, RestoredIn(period, kind), leased);
            Volatile.Write(ref _window, fresh);
            return fresh;
        }
    }

    /// <summary>Gets what the ledger counted before a restart in the window <paramref name="period"/> (0 when nothing).</summary>
    internal long RestoredIn(UsagePeriod period, UsageWindow kind)
    {
        foreach (MeteredUsage usage in Volatile.Read(ref _restored))
        {
            if (usage.Window == kind && usage.WindowStart == period.Start && usage.WindowEnd == period.End)
            {
                return usage.Quantity;
            }
        }

        return 0;
    }
}
