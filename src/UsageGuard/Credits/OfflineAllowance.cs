namespace UsageGuard;

/// <summary>
/// What a feature lets one instance admit beyond its leases, per wallet, while the shared store cannot be reached
/// (<see cref="FeatureOptions.OfflineAllowance"/>).
/// </summary>
/// <param name="Units">The allowance, in units of the wallet's credit type.</param>
/// <param name="Outage">The outage it is spent in: a new outage makes it whole again.</param>
internal readonly record struct OfflineAllowance(long Units, long Outage);
