namespace UsageGuard;

/// <summary>
/// The low-balance thresholds of one wallet (one customer's credits of one credit type), or of every customer's wallet of
/// one credit type: an alert is raised when the wallet's balance falls to or below a threshold.
/// </summary>
/// <remarks>
/// <para>The <b>balance</b> is what the wallet's blocks in force have not used, less overdraft debt: credits held by
/// reservations in flight still count, so a hold never raises an alert and a release never re-arms one; settlements,
/// debits, voids and expiries lower it, grants and refunds raise it. A block is <b>in force</b> when it is effective,
/// neither expired nor voided, and not used up.</para>
/// <para>Each threshold is raised once when the balance falls to or below it, and re-armed only when the balance rises
/// above it again (a grant or a refund). See <c>docs/governance.md</c> (Wallet alerts).</para>
/// </remarks>
public sealed class LowBalanceAlertOptions
{
    /// <summary>Gets or sets the customer whose wallet is watched, or <see langword="null"/> for every customer without an entry of its own.</summary>
    /// <value>The default value is <see langword="null"/>: every customer.</value>
    public string? CustomerId { get; set; }

    /// <summary>Gets or sets the wallet's credit type code, or <see langword="null"/> for <see cref="UsageGuardOptions.DefaultCreditType"/>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? CreditType { get; set; }

    /// <summary>
    /// Gets the thresholds: an amount of credits of the wallet's type (<c>500</c>, at most the type's scale in decimal
    /// places), or a percent of the credits in force (<c>20%</c>, above 0 and at most 100, at most 4 decimal places).
    /// The credits in force are the amounts granted in the blocks in force; a percent threshold is that sum times the
    /// percent, rounded down to the credit type's scale. One to 32 thresholds, each positive and listed once.
    /// </summary>
    /// <value>The default value is an empty list, which is invalid: add at least one threshold.</value>
    public IList<string> AlertAt { get; } = new List<string>();
}
