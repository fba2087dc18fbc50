namespace UsageGuard;

/// <summary>Calls into a database driver from background work: bounded waits and quiet stops.</summary>
internal static class StoreCall
{
    /// <summary>
    /// Waits for <paramref name="call"/> at most <paramref name="stall"/>. When it stalls, <paramref name="cancel"/> is cancelled (a
    /// driver that honours its token lets go of the connection), the call is abandoned (its late failure is observed, never thrown
    /// at the finalizer), and a <see cref="TimeoutException"/> naming <paramref name="what"/> is thrown.
    /// </summary>
    /// <remarks>
    /// The wait does not rely on the driver: a driver stuck in its own cancellation still releases the caller. Callers retry what
    /// was abandoned in a way that applies once (an append under the same batch id).
    /// </remarks>
    /// <param name="call">The call, started.</param>
    /// <param name="stall">How long the call may go without finishing, or without progress when <paramref name="progress"/> is given.</param>
    /// <param name="time">The clock the wait runs on.</param>
    /// <param name="cancel">Cancels the call when it is abandoned.</param>
    /// <param name="what">What the call does, for the exception's message.</param>
    /// <param name="progress">A count the call advances while it works (rows read): a long read that keeps making progress is not a stall.</param>
    internal static T Bounded<T>(Task<T> call, TimeSpan stall, TimeProvider time, CancellationTokenSource cancel, string what, Func<long>? progress = null)
    {
        long seen = progress?.Invoke() ?? 0;
        while (true)
        {
            try
            {
                return call.WaitAsync(stall, time).GetAwaiter().GetResult();
            }
            catch (TimeoutException) when (!call.IsCompleted && progress is not null && progress() != seen)
            {
                seen = progress();
            }
            catch (TimeoutException) when (!call.IsCompleted)
            {
                break;
            }
        }

        Abandon(call);
        cancel.CancelQuietly();
        throw Stalled(stall, what);
    }

    /// <summary>
    /// The same for asynchronous callers: starts <paramref name="call"/> with a token linked to <paramref name="cancellationToken"/>,
    /// and when it does not finish within <paramref name="stall"/>, cancels and abandons it and throws a <see cref="TimeoutException"/>.
    /// </summary>
    internal static async Task<T> BoundedAsync<T>(Func<CancellationToken, Task<T>> call, TimeSpan stall, TimeProvider time, string what, CancellationToken cancellationToken)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task<T> running = call(cancel.Token);
        try
        {
            return await running.WaitAsync(stall, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException) when (!running.IsCompleted)
        {
            Abandon(running);
            await cancel.CancelQuietlyAsync().ConfigureAwait(false);
            throw Stalled(stall, what);
        }
    }

    /// <summary>Observes the late failure of a call no one waits for any more, so it never reaches the finalizer as unobserved.</summary>
    private static void Abandon(Task call) =>
        _ = call.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private static TimeoutException Stalled(TimeSpan stall, string what) =>
        new($"The shared store did not answer within {stall.TotalSeconds:0.#} s while {what}; the call was abandoned and is retried.");

    /// <summary>
    /// Cancels <paramref name="source"/>. A driver's own cancellation callback can find the connection it cancels already disposed
    /// (the connection broke during an outage and the driver tore it down while its registration was still in place); the callback
    /// then throws <see cref="ObjectDisposedException"/> out of the cancellation, after every other callback ran. Nothing is left to
    /// cancel in that case, so those are swallowed; any other failure still surfaces.
    /// </summary>
    internal static async Task CancelQuietlyAsync(this CancellationTokenSource source)
    {
        try
        {
            await source.CancelAsync().ConfigureAwait(false);
        }
        catch (AggregateException ex) when (OnlyDisposed(ex))
        {
        }
    }

    /// <summary>The same, synchronously.</summary>
    internal static void CancelQuietly(this CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (AggregateException ex) when (OnlyDisposed(ex))
        {
        }
    }

    private static bool OnlyDisposed(AggregateException ex) => ex.Flatten().InnerExceptions.All(e => e is ObjectDisposedException);
}
