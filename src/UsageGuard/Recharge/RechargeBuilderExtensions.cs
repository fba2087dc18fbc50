using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace UsageGuard;

/// <summary>Registers auto-recharge and the host's payment callback with UsageGuard.</summary>
public static class RechargeBuilderExtensions
{
    /// <summary>Configures <see cref="RechargeOptions"/>: the wallets recharged when they run low. Read once, when the guard starts.</summary>
    /// <param name="builder">The UsageGuard builder.</param>
    /// <param name="configure">Lists the wallets in code, or <see langword="null"/> when they are bound elsewhere, for example with
    /// <c>services.Configure&lt;RechargeOptions&gt;(configuration.GetSection("UsageGuard:Recharge"))</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// A handler is required as soon as one wallet is listed (<see cref="AddRechargeHandler{THandler}"/>). An invalid
    /// configuration, or a missing handler, makes the guard's start throw <c>OptionsValidationException</c> naming every problem.
    /// </remarks>
    public static IUsageGuardBuilder UseAutoRecharge(this IUsageGuardBuilder builder, Action<RechargeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<RechargeOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return builder;
    }

    /// <summary>Sets the handler that takes recharge payments; a later call replaces an earlier one.</summary>
    /// <typeparam name="THandler">The handler type, resolved from the service provider as a singleton.</typeparam>
    /// <param name="builder">The UsageGuard builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    public static IUsageGuardBuilder AddRechargeHandler<THandler>(this IUsageGuardBuilder builder)
        where THandler : class, IRechargeHandler
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IRechargeHandler, THandler>());
        return builder;
    }
}
