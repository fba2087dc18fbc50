using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace UsageGuard;

/// <summary>Reports the guard's <see cref="IEntitlementGuard.Health"/> to ASP.NET Core health checks.</summary>
/// <remarks>
/// Register with <c>services.AddHealthChecks().AddCheck&lt;UsageGuardHealthCheck&gt;("usageguard")</c>. A failing store is
/// <see cref="HealthStatus.Unhealthy"/>: under the default <see cref="StoreFailurePolicy.FailClosed"/> the guard refuses new work.
/// Thread-safe.
/// </remarks>
/// <param name="guard">The guard to report on.</param>
public sealed class UsageGuardHealthCheck(IEntitlementGuard guard) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        UsageGuardHealth health = guard.Health;
        return Task.FromResult(health.IsHealthy
            ? HealthCheckResult.Healthy("The ledger store takes writes.")
            : HealthCheckResult.Unhealthy(health.ToString(), health.LastError));
    }
}
