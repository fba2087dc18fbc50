namespace UsageGuard;

/// <summary>What raised a <see cref="UsageAlert"/>: a budget limit's usage, or a wallet's balance.</summary>
public enum UsageAlertKind
{
    /// <summary>A budget limit's usage reached a threshold; <see cref="UsageAlert.BudgetId"/> names the budget.</summary>
    Budget = 0,

    /// <summary>A wallet's balance fell to or below a threshold; <see cref="UsageAlert.CreditType"/> names the wallet and <see cref="UsageAlert.Balance"/> is its balance.</summary>
    Wallet = 1,
}
