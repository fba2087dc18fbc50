using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace UsageGuard;

/// <summary>Delivers alerts off the request path: raising one is a non-blocking write to an unbounded queue that one task drains in order.</summary>
/// <remarks>
/// Alerts are rare (each budget threshold once per window, each wallet threshold once per crossing), so the queue stays
/// short; a handler that throws is logged and the next alert is delivered. Budget and wallet alerts share the queue.
/// </remarks>
internal sealed partial class AlertDispatcher : IAsyncDisposable
{
    private static readonly KeyValuePair<string, object?> s_budgetKind = new(UsageGuardDiagnostics.AlertKindTag, "budget");
    private static readonly KeyValuePair<string, object?> s_walletKind = new(UsageGuardDiagnostics.AlertKindTag, "wallet");

    private readonly Channel<UsageAlert> _queue = Channel.CreateUnbounded<UsageAlert>(new UnboundedChannelOptions { SingleReader = true });
    private readonly EntitlementGuard _guard;
    private readonly IReadOnlyList<IUsageAlertHandler> _handlers;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly Task _loop;
    private long _undelivered;
    private TaskCompletionSource? _delivered;

    internal AlertDispatcher(EntitlementGuard guard, IReadOnlyList<IUsageAlertHandler> handlers, ILogger logger)
    {
        _guard = guard;
        _handlers = handlers;
        _logger = logger;
        _loop = Task.Run(DeliverAsync);
    }

    internal void Post(UsageAlert alert)
    {
        UsageGuardDiagnostics.Alerts.Add(1, alert.Kind == UsageAlertKind.Wallet ? s_walletKind : s_budgetKind, new KeyValuePair<string, object?>("usageguard.measure", alert.Measure.ToString()));
        Interlocked.Increment(ref _undelivered);
        if (!_queue.Writer.TryWrite(alert))
        {
            // The guard is stopping: the alert is dropped.
            Delivered();
        }
    }

    /// <summary>Completes once every alert posted so far has been delivered to the handlers and the event (tests and diagnostics).</summary>
    internal Task WhenDeliveredAsync()
    {
        lock (_gate)
        {
            return Volatile.Read(ref _undelivered) == 0 ? Task.CompletedTask : (_delivered ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    /// <summary>Delivers what is queued, then stops (the guard is stopping).</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (await Task.WhenAny(_loop, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false) != _loop)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task DeliverAsync()
    {
        await foreach (UsageAlert alert in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            foreach (IUsageAlertHandler handler in _handlers)
            {
                try
                {
                    await handler.OnAlertAsync(alert, _stopping.Token).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    LogFailure(ex, handler.GetType().Name, alert);
                }
            }

            try
            {
                _guard.OnAlertRaised(alert);
            }
            catch (Exception ex)
            {
                LogFailure(ex, nameof(IUsageGovernance.AlertRaised), alert);
            }

            Delivered();
        }
    }

    private void Delivered()
    {
        if (Interlocked.Decrement(ref _undelivered) == 0)
        {
            lock (_gate)
            {
                // Re-read under the lock: an alert posted meanwhile keeps the waiters waiting.
                if (Volatile.Read(ref _undelivered) == 0 && _delivered is { } delivered)
                {
                    _delivered = null;
                    delivered.TrySetResult();
                }
            }
        }
    }

    private void LogFailure(Exception exception, string handler, UsageAlert alert)
    {
        if (alert.Kind == UsageAlertKind.Wallet)
        {
            LogWalletHandlerFailed(_logger, exception, handler, alert.CustomerId, alert.CreditType ?? "", alert.Threshold);
        }
        else
        {
            LogHandlerFailed(_logger, exception, handler, alert.BudgetId ?? "", alert.Threshold);
        }
    }

    [LoggerMessage(EventId = 301, Level = LogLevel.Error, Message = "The alert handler {Handler} failed for budget {BudgetId} at threshold {Threshold}; later alerts are still delivered.")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string handler, string budgetId, string threshold);

    [LoggerMessage(EventId = 302, Level = LogLevel.Error, Message = "The alert handler {Handler} failed for the wallet alert of customer {CustomerId} ({CreditType}) at threshold {Threshold}; later alerts are still delivered.")]
    private static partial void LogWalletHandlerFailed(ILogger logger, Exception exception, string handler, string customerId, string creditType, string threshold);
}
