namespace UsageGuard;

/// <summary>When the credits of a recurring allowance expire.</summary>
public enum AllowanceExpiry
{
    /// <summary>At the end of the period they were granted for (the default).</summary>
    PeriodEnd,

    /// <summary>A fixed time after the grant: <see cref="AllowanceOptions.ExpiresAfter"/>.</summary>
    Relative,

    /// <summary>Never.</summary>
    Never,
}
