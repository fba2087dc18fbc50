using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace UsageGuard;

/// <summary>Delivers alerts off the request path: raising one is a non-blocking write to an unbounded queue that one task drains in order.</summary>
/// <remarks>Alerts are rare (each threshold once per window), so the queue stays short; a handler that throws is logged and the next alert is delivered.</remarks>
internal sealed partial class AlertDispatcher : IAsyncDisposable
{
    private readonly Channel<UsageAlert> _queue = Channel.CreateUnbounded<UsageAlert>(new UnboundedChannelOptions { SingleReader = true });
    private readonly EntitlementGuard _guard;
    private readonly IReadOnlyList<IUsageAlertHandler> _handlers;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;

    internal AlertDispatcher(EntitlementGuard guard, IReadOnlyList<IUsageAlertHandler> handlers, ILogger logger)
    {
        _guard = guard;
        _handlers = handlers;
        _logger = logger;
        _loop = Task.Run(DeliverAsync);
    }

    internal void Post(UsageAlert alert)
    {
        UsageGuardDiagnostics.Alerts.Add(1, new KeyValuePair<string, object?>("usageguard.measure", alert.Measure.ToString()));
        _queue.Writer.TryWrite(alert);
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
                    LogHandlerFailed(_logger, ex, handler.GetType().Name, alert.BudgetId, alert.Threshold);
                }
            }

            try
            {
                _guard.OnAlertRaised(alert);
            }
            catch (Exception ex)
            {
                LogHandlerFailed(_logger, ex, nameof(IUsageGovernance.AlertRaised), alert.BudgetId, alert.Threshold);
            }
        }
    }

    [LoggerMessage(EventId = 301, Level = LogLevel.Error, Message = "The alert handler {Handler} failed for budget {BudgetId} at threshold {Threshold}; later alerts are still delivered.")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string handler, string budgetId, string threshold);
}
