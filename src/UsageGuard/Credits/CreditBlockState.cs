namespace UsageGuard;

/// <summary>Where a credit block stands in its life.</summary>
public enum CreditBlockState
{
    /// <summary>Not effective yet: its effective time is in the future.</summary>
    Scheduled = 0,

    /// <summary>Effective and with credits that are neither used nor expired.</summary>
    Active = 1,

    /// <summary>Effective, but every credit is used or held.</summary>
    Depleted = 2,

    /// <summary>Past its expiry: only holds made before the expiry may still be settled from it.</summary>
    Expired = 3,

    /// <summary>Voided: only holds made before the void may still be settled from it.</summary>
    Voided = 4,
}
