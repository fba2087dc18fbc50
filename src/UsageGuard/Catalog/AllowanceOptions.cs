namespace UsageGuard;

/// <summary>A recurring credit allowance of a plan or an add-on: granted at the start of each billing period.</summary>
public sealed class AllowanceOptions
{
    /// <summary>Gets or sets the allowance's id, unique within its plan or add-on; it keys the grant of each period, so a period is never granted twice.</summary>
    /// <value>The default value is an empty string, which fails validation.</value>
    public string Id { get; set; } = string.Empty;

    /// <summary>Gets or sets the credits granted each period.</summary>
    /// <value>The default value is 0, which fails validation.</value>
    public decimal Amount { get; set; }

    /// <summary>Gets or sets the credit type granted.</summary>
    /// <value>The default value is <see cref="UsageGuardDefaults.CreditType"/>.</value>
    public string CreditType { get; set; } = UsageGuardDefaults.CreditType;

    /// <summary>Gets or sets the granted block's priority in the burn order (lower burns first).</summary>
    /// <value>The default value is 0.</value>
    public int Priority { get; set; }

    /// <summary>Gets or sets the category of the granted block.</summary>
    /// <value>The default value is <see cref="CreditCategory.Bundled"/>.</value>
    public CreditCategory Category { get; set; } = CreditCategory.Bundled;

    /// <summary>Gets or sets when the granted credits expire.</summary>
    /// <value>The default value is <see cref="AllowanceExpiry.PeriodEnd"/>.</value>
    public AllowanceExpiry Expiry { get; set; }

    /// <summary>Gets or sets how long after the grant the credits expire, with <see cref="AllowanceExpiry.Relative"/>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public TimeSpan? ExpiresAfter { get; set; }

    /// <summary>Gets or sets the least balance carried into the next period (a floor the reset lifts a smaller balance to).</summary>
    /// <value>The default value is <see langword="null"/>: no rollover floor (0).</value>
    /// <remarks>At a reset, the balance after it is <c>min(RolloverMax, max(balance, RolloverMin))</c>.</remarks>
    public decimal? RolloverMin { get; set; }

    /// <summary>Gets or sets the most of the unused balance carried into the next period.</summary>
    /// <value>The default value is <see langword="null"/>: nothing rolls over.</value>
    public decimal? RolloverMax { get; set; }

    /// <summary>Gets or sets whether usage above the allowance in one period is carried into the next period as a debt.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool PreserveOverage { get; set; }
}
