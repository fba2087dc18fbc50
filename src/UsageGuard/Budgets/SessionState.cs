using System.Collections.Concurrent;

namespace UsageGuard;

/// <summary>One session's copies of the per-session limits and its circuit breaker.</summary>
/// <remarks>Thread-safe. Created on a session's first request that a per-session budget matches; dropped when idle (<see cref="GovernanceOptions.SessionIdleTimeout"/>).</remarks>
internal sealed class SessionState
{
    // The refusal that opened the breaker: later refusals of the session report it (level, measure, window), not an empty denial.
    private TripRecord? _trip;
    private long _lastSeenTicks;

    internal SessionState(string id, long nowTicks, bool leased = false, long generation = 0)
    {
        Id = id;
        _lastSeenTicks = nowTicks;
        Leased = leased;
        Generation = generation;
    }

    /// <summary>Gets how many times the session was reset across instances, as the feed's sequence of its last reset (0: never): its windows' shared pools are new after a reset.</summary>
    internal long Generation { get; }

    /// <summary>Gets whether the session's limits spend from leases on shared pools (many instances).</summary>
    internal bool Leased { get; }

    internal string Id { get; }

    internal ConcurrentDictionary<string, LimitState> Limits { get; } = new(StringComparer.Ordinal);

    /// <summary>Gets the budget whose limit tripped the breaker, or null while it is closed.</summary>
    internal string? TrippedBy => Volatile.Read(ref _trip)?.Denial.BudgetId;

    /// <summary>Gets the refusal that opened the breaker, or null while it is closed.</summary>
    internal BudgetDenial? Trip => Volatile.Read(ref _trip)?.Denial;

    internal long LastSeenTicks => Volatile.Read(ref _lastSeenTicks);

    internal void Touch(long nowTicks)
    {
        if (nowTicks > Volatile.Read(ref _lastSeenTicks))
        {
            Volatile.Write(ref _lastSeenTicks, nowTicks);
        }
    }

    /// <summary>Opens the breaker with the refusal that tripped it; a breaker already open keeps its first refusal.</summary>
    internal void Open(in BudgetDenial denial) => Interlocked.CompareExchange(ref _trip, new TripRecord(denial), null);

    private sealed record TripRecord(BudgetDenial Denial);

    internal LimitState StateFor(CompiledLimit limit) =>
        Limits.TryGetValue(limit.StateKey, out LimitState? state)
            ? state
            : Limits.GetOrAdd(limit.StateKey, static (_, a) => new LimitState(a.Limit.Window is not null, a.Leased), (Limit: limit, Leased));
}
