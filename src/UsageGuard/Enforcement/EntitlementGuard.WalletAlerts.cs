using System.Collections.Frozen;

namespace UsageGuard;

internal sealed partial class EntitlementGuard
{
    private FrozenDictionary<(string Customer, string CreditType), WalletAlertPlan>? _walletAlertPlans;
    private FrozenDictionary<string, WalletAlertPlan>? _defaultWalletAlertPlans;

    /// <summary>Completes once every alert raised so far, budget or wallet, has been delivered (tests and diagnostics).</summary>
    internal Task WhenAlertsDeliveredAsync() => _alerts?.WhenDeliveredAsync() ?? Task.CompletedTask;

    /// <summary>Gives a new wallet its alert state, when alerts are configured for it (its own entry, else its credit type's default). Called by the wallet's constructor.</summary>
    internal WalletAlerts? AttachAlerts(Wallet wallet)
    {
        if (_walletAlertPlans is null || _defaultWalletAlertPlans is null)
        {
            return null;
        }

        if (_walletAlertPlans.TryGetValue((wallet.CustomerId, wallet.Type.Code), out WalletAlertPlan? plan)
            || _defaultWalletAlertPlans.TryGetValue(wallet.Type.Code, out plan))
        {
            return new WalletAlerts(plan, wallet, this);
        }

        return null;
    }

    /// <summary>Queues a wallet alert for delivery; called by the one thread that raised the threshold.</summary>
    internal void RaiseWalletAlert(WalletAlerts alerts, int index, long threshold, long balance, long inForce)
    {
        Wallet wallet = alerts.Wallet;
        int scale = wallet.Type.Scale;
        decimal limit = FixedPoint.ToDecimal(inForce, scale);
        decimal left = FixedPoint.ToDecimal(balance, scale);
        _alerts?.Post(new UsageAlert
        {
            Kind = UsageAlertKind.Wallet,
            CustomerId = wallet.CustomerId,
            CreditType = wallet.Type.Code,
            Measure = LimitMeasure.Credits,
            Threshold = alerts.Plan.Thresholds[index].Label,
            ThresholdAmount = FixedPoint.ToDecimal(threshold, scale),
            Limit = limit,
            Used = limit - left,
            Balance = left,
            RaisedAt = _time.GetUtcNow(),
        });
    }

    /// <summary>Compiles the wallet alert configuration (throwing on any problem) before the ledger is read, so restored wallets are attached as they are created.</summary>
    private void ConfigureWalletAlerts(WalletAlertOptions? options)
    {
        if (options is null || options.Wallets.Count == 0)
        {
            return;
        }

        var types = _types.ToDictionary(t => t.Code, StringComparer.Ordinal);
        IReadOnlyList<WalletAlertPlan> plans = WalletAlertPlan.Compile(options, types, _types[_defaultType].Code, _options.MaxIdLength);
        _walletAlertPlans = plans.Where(p => p.CustomerId is not null).ToFrozenDictionary(p => (p.CustomerId!, p.Type.Code));
        _defaultWalletAlertPlans = plans.Where(p => p.CustomerId is null).ToFrozenDictionary(p => p.Type.Code, StringComparer.Ordinal);
    }

    /// <summary>
    /// Derives every restored wallet's alert state from its balance as the ledger left it, raising nothing: a wallet the
    /// previous process left at or below a threshold has it raised already. At start-up, before anything is served.
    /// </summary>
    private void ArmRestoredWalletAlerts(DateTimeOffset now)
    {
        if (_walletAlertPlans is null)
        {
            return;
        }

        foreach (CustomerAccount customer in _customers.Values)
        {
            foreach (Wallet wallet in customer.Wallets)
            {
                if (wallet.Alerts is { } alerts)
                {
                    lock (wallet.Gate)
                    {
                        long balance = wallet.RestoredAlertBalance(now, out long inForce);
                        alerts.Arm(balance, inForce);
                    }
                }
            }
        }
    }
}
