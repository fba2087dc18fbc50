using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace UsageGuard;

/// <summary>Registers governance (subject trees, budgets, session circuit breakers, rate and concurrency limits) and alert handlers with UsageGuard.</summary>
public static class GovernanceBuilderExtensions
{
    /// <summary>Configures <see cref="GovernanceOptions"/>, read through <c>IOptionsMonitor</c> and reapplied on each change.</summary>
    /// <param name="builder">The UsageGuard builder.</param>
    /// <param name="configure">Builds the governance in code, or <see langword="null"/> when it is bound elsewhere, for example with
    /// <c>services.Configure&lt;GovernanceOptions&gt;(configuration.GetSection("UsageGuard:Governance"))</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// Governance is always on: budgets can be set at runtime through <see cref="IUsageGovernance"/> without this call. At start an invalid
    /// configuration throws <see cref="GovernanceValidationException"/>; a later invalid change is refused customer by customer and logged.
    /// </remarks>
    public static IUsageGuardBuilder UseGovernance(this IUsageGuardBuilder builder, Action<GovernanceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<GovernanceOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return builder;
    }

    /// <summary>Adds a handler that receives every alert, budget and wallet (<see cref="UsageAlert.Kind"/>), off the request path.</summary>
    /// <typeparam name="THandler">The handler type, resolved from the service provider as a singleton.</typeparam>
    /// <param name="builder">The UsageGuard builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    public static IUsageGuardBuilder AddAlertHandler<THandler>(this IUsageGuardBuilder builder)
        where THandler : class, IUsageAlertHandler
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IUsageAlertHandler, THandler>());
        return builder;
    }
}
