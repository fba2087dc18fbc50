namespace UsageGuard.Tests.Catalog.Sources;

/// <summary>A clock that delegates to another and counts the timers created through it that are still alive (not disposed).</summary>
internal sealed class TrackingTimeProvider(TimeProvider inner) : TimeProvider
{
    private int _alive;

    public int AliveTimers => Volatile.Read(ref _alive);

    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Interlocked.Increment(ref _alive);
        return new TrackedTimer(this, inner.CreateTimer(callback, state, dueTime, period));
    }

    private sealed class TrackedTimer(TrackingTimeProvider owner, ITimer inner) : ITimer
    {
        private int _disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(dueTime, period);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref owner._alive);
            }

            inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
