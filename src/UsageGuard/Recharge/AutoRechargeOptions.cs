namespace UsageGuard;

/// <summary>
/// Auto-recharge of one wallet (one customer's credits of one credit type): when what the wallet can still spend
/// falls below <see cref="Threshold"/>, the guard asks the <see cref="IRechargeHandler"/> to take a payment and, only
/// when it succeeds, grants the credits. Set exactly one of <see cref="Amount"/> and <see cref="TargetBalance"/>.
/// </summary>
/// <remarks>Amounts are in the wallet's credit type, at most its scale in decimal places. See <c>docs/recharge.md</c>.</remarks>
public sealed class AutoRechargeOptions
{
    /// <summary>Gets or sets the customer whose wallet is recharged.</summary>
    /// <value>The default value is an empty string, which is invalid: set it.</value>
    public string CustomerId { get; set; } = string.Empty;

    /// <summary>Gets or sets the wallet's credit type code, or <see langword="null"/> for <see cref="UsageGuardOptions.DefaultCreditType"/>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? CreditType { get; set; }

    /// <summary>
    /// Gets or sets the level below which the wallet is recharged: a recharge starts when the wallet's available
    /// credits (what new reservations could hold) less its overdraft debt fall below it. Zero or more.
    /// </summary>
    /// <value>The default value is 0: recharge only once the wallet is in debt.</value>
    public decimal Threshold { get; set; }

    /// <summary>Gets or sets the fixed amount of each recharge, or <see langword="null"/> to top up to <see cref="TargetBalance"/> instead. Positive.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public decimal? Amount { get; set; }

    /// <summary>
    /// Gets or sets the level each recharge tops the wallet up to, or <see langword="null"/> to recharge a fixed
    /// <see cref="Amount"/> instead. The recharge is the target less the wallet's available credits (less debt); it
    /// must be above <see cref="Threshold"/>.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public decimal? TargetBalance { get; set; }

    /// <summary>Gets or sets the smallest top-up worth a payment: a smaller gap is recharged with this amount, or <see langword="null"/> for no minimum. Positive. <see cref="MonthlyCap"/> still clamps it.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public decimal? MinimumAmount { get; set; }

    /// <summary>Gets or sets the shortest time between the end of one successful recharge and the start of the next. Zero or more.</summary>
    /// <value>The default value is 1 minute.</value>
    public TimeSpan Cooldown { get; set; } = TimeSpan.FromSeconds(UsageGuardDefaults.RechargeCooldownSeconds);

    /// <summary>
    /// Gets or sets the most the wallet may be recharged in one calendar month (UTC), or <see langword="null"/> for no
    /// cap. A recharge is clamped to what is left under the cap; with nothing left, none is made until the next month. Positive.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public decimal? MonthlyCap { get; set; }

    /// <summary>Gets or sets how long the guard waits after a failed payment before it tries again; each further failure in a row doubles the wait, up to <see cref="MaxRetryBackoff"/>. Positive.</summary>
    /// <value>The default value is 1 minute.</value>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromSeconds(UsageGuardDefaults.RechargeRetryBackoffSeconds);

    /// <summary>Gets or sets the longest wait after failed payments. At least <see cref="RetryBackoff"/>.</summary>
    /// <value>The default value is 1 hour.</value>
    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromSeconds(UsageGuardDefaults.RechargeMaxRetryBackoffSeconds);

    /// <summary>Gets or sets the category of the granted blocks.</summary>
    /// <value>The default value is <see cref="CreditCategory.Paid"/>.</value>
    public CreditCategory Category { get; set; } = CreditCategory.Paid;

    /// <summary>Gets or sets the burn priority of the granted blocks: lower burns first.</summary>
    /// <value>The default value is 0.</value>
    public int Priority { get; set; }

    /// <summary>Gets or sets how long after its grant a recharged block expires, or <see langword="null"/> for never. Positive.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public TimeSpan? ExpiresAfter { get; set; }

    /// <summary>Gets or sets what one credit costs the customer (money per credit), recorded on the granted blocks and passed to the handler, or <see langword="null"/>. Zero or more.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public decimal? CostBasis { get; set; }
}
