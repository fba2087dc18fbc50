namespace UsageGuard;

/// <content>The defaults of <see cref="AutoRechargeOptions"/>.</content>
public static partial class UsageGuardDefaults
{
    /// <summary>The shortest time between two successful recharges of a wallet, in seconds.</summary>
    public const int RechargeCooldownSeconds = 60;

    /// <summary>The wait after a failed recharge payment, in seconds; it doubles with each further failure.</summary>
    public const int RechargeRetryBackoffSeconds = 60;

    /// <summary>The longest wait after failed recharge payments, in seconds (1 hour).</summary>
    public const int RechargeMaxRetryBackoffSeconds = 3_600;
}
