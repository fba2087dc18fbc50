namespace UsageGuard;

/// <summary>Receives alerts, from budget limits and from wallet balances (<see cref="UsageAlert.Kind"/>); register implementations in the service collection (for example <c>services.AddSingleton&lt;IUsageAlertHandler, MyHandler&gt;()</c>).</summary>
/// <remarks>Called one alert at a time, off the request path. An exception is logged and does not stop later alerts.</remarks>
public interface IUsageAlertHandler
{
    /// <summary>Handles one alert.</summary>
    /// <param name="alert">The alert.</param>
    /// <param name="cancellationToken">Cancelled when the guard stops.</param>
    /// <returns>A task that completes when the alert is handled.</returns>
    ValueTask OnAlertAsync(UsageAlert alert, CancellationToken cancellationToken);
}
