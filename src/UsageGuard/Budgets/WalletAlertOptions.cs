namespace UsageGuard;

/// <summary>Configures wallet alerts: the low-balance thresholds watched on wallets. Read once, when the guard starts.</summary>
/// <remarks>
/// Register with <see cref="WalletAlertBuilderExtensions.UseWalletAlerts"/>. Alerts are delivered like budget alerts, to
/// <see cref="IUsageAlertHandler"/> services and the <see cref="IUsageGovernance.AlertRaised"/> event. See <c>docs/governance.md</c> (Wallet alerts).
/// </remarks>
public sealed class WalletAlertOptions
{
    /// <summary>
    /// Gets the watched wallets: at most one entry per customer and credit type, and at most one entry without a customer
    /// (the default for every customer) per credit type. A customer's own entry replaces the default for its credit type.
    /// </summary>
    /// <value>The default value is an empty list: no wallet is watched.</value>
    public IList<LowBalanceAlertOptions> Wallets { get; } = new List<LowBalanceAlertOptions>();
}
