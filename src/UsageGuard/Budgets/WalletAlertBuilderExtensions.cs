using Microsoft.Extensions.DependencyInjection;

namespace UsageGuard;

/// <summary>Registers wallet alerts (low-balance thresholds) with UsageGuard.</summary>
public static class WalletAlertBuilderExtensions
{
    /// <summary>Configures <see cref="WalletAlertOptions"/>: the wallets watched for a low balance. Read once, when the guard starts.</summary>
    /// <param name="builder">The UsageGuard builder.</param>
    /// <param name="configure">Lists the wallets in code, or <see langword="null"/> when they are bound elsewhere, for example with
    /// <c>services.Configure&lt;WalletAlertOptions&gt;(configuration.GetSection("UsageGuard:WalletAlerts"))</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// Alerts go to the handlers added with <see cref="GovernanceBuilderExtensions.AddAlertHandler{THandler}"/> and to
    /// <see cref="IUsageGovernance.AlertRaised"/>. An invalid configuration makes the guard's start throw
    /// <c>OptionsValidationException</c> naming every problem, before the ledger is read.
    /// </remarks>
    public static IUsageGuardBuilder UseWalletAlerts(this IUsageGuardBuilder builder, Action<WalletAlertOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<WalletAlertOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return builder;
    }
}
