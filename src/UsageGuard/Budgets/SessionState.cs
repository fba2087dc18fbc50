using System.Collections.Concurrent;

namespace UsageGuard;

/// <summary>One session's copies of the per-session limits and its circuit breaker.</summary>
/// <remarks>Thread-safe. Created on a session's first request that a per-session budget matches; dropped when idle (<see cref="GovernanceOptions.SessionIdleTimeout"/>).</remarks>
internal sealed class SessionState
{
    private string? _trippedBy;
    private long _lastSeenTicks;

    internal SessionState(string id, long nowTicks)
    {
        Id = id;
        _lastSeenTicks = nowTicks;
    }

    internal string Id { get; }

    internal ConcurrentDictionary<string, LimitState> Limits { get; } = new(StringComparer.Ordinal);

    /// <summary>Gets the budget whose limit tripped the breaker, or null while it is closed.</summary>
    internal string? TrippedBy => Volatile.Read(ref _trippedBy);

    internal long LastSeenTicks => Volatile.Read(ref _lastSeenTicks);

    internal void Touch(long nowTicks)
    {
        if (nowTicks > Volatile.Read(ref _lastSeenTicks))
        {
            Volatile.Write(ref _lastSeenTicks, nowTicks);
        }
    }

    internal void Trip(string budgetId) => Interlocked.CompareExchange(ref _trippedBy, budgetId, null);

    internal LimitState StateFor(CompiledLimit limit) =>
        Limits.TryGetValue(limit.StateKey, out LimitState? state)
            ? state
            : Limits.GetOrAdd(limit.StateKey, static (_, l) => new LimitState(l.Window is not null), limit);
}
