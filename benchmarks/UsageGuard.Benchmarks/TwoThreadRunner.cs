namespace UsageGuard.Benchmarks;

/// <summary>
/// Runs a loop on two threads at once: the calling (benchmark) thread and one helper thread started once, up front.
/// Each <see cref="Run"/> releases the helper through a <see cref="Barrier"/>, runs its own half, and waits at the
/// barrier again for the helper to finish its half; so exactly two threads do the work and the only per-invocation
/// cost is two barrier phases, amortised over the whole loop.
/// </summary>
internal sealed class TwoThreadRunner : IDisposable
{
    private readonly Barrier _barrier = new(2);
    private readonly Thread _helper;
    private Action<int>? _work;
    private int _iterations;
    private volatile bool _stopping;

    internal TwoThreadRunner()
    {
        _helper = new Thread(HelperLoop)
        {
            IsBackground = true,
            Name = "benchmark helper",
            Priority = Thread.CurrentThread.Priority,
        };
        _helper.Start();
    }

    /// <summary>Runs <paramref name="work"/>(<paramref name="iterationsPerThread"/>) on both threads and returns when both are done.</summary>
    internal void Run(Action<int> work, int iterationsPerThread)
    {
        _work = work;
        _iterations = iterationsPerThread;
        _barrier.SignalAndWait(); // start: the barrier publishes _work and _iterations to the helper
        work(iterationsPerThread);
        _barrier.SignalAndWait(); // finish: returns once the helper is done too
    }

    public void Dispose()
    {
        _stopping = true;
        _barrier.SignalAndWait();
        _helper.Join();
        _barrier.Dispose();
    }

    private void HelperLoop()
    {
        while (true)
        {
            _barrier.SignalAndWait();
            if (_stopping)
            {
                return;
            }

            _work!(_iterations);
            _barrier.SignalAndWait();
        }
    }
}
