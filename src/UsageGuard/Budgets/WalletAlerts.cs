namespace UsageGuard;

/// <summary>
/// One watched wallet's alert state: per threshold, whether it is armed or raised, moved by compare-and-swap.
/// </summary>
/// <remarks>
/// <para>A threshold is armed while the wallet's balance is above it and raised once the balance has fallen to or below
/// it. Raising is a compare-and-swap from armed, so threads that cross a threshold together raise one alert: one wins
/// the swap, the others see it raised and go on. A raised threshold records the threshold (in units) it was raised at,
/// and is re-armed only when the balance rises above both that and the threshold now, so a percent threshold that sinks
/// with the credits in force (a block used up) does not re-arm without a grant or a refund.</para>
/// <para>Only the balance's falls happen outside the wallet's lock (settlements), and those only raise. Everything that
/// raises the balance (grants, refunds, blocks becoming effective) ends in a sweep under the lock, which is the only
/// place that re-arms: re-arms never race each other, so a raised threshold cannot change under a re-arm's swap.</para>
/// <para>The state is derived from the balance: a new wallet starts with every threshold it is at or below raised, and so
/// does a wallet restored at start-up (<see cref="Arm"/>), so no alert is raised for a balance that did not fall.</para>
/// </remarks>
internal sealed class WalletAlerts
{
    private const long Armed = long.MinValue;

    private readonly EntitlementGuard _guard;

    // Per threshold: Armed, or the threshold in units when it was raised.
    private readonly long[] _raisedAt;

    internal WalletAlerts(WalletAlertPlan plan, Wallet wallet, EntitlementGuard guard)
    {
        Plan = plan;
        Wallet = wallet;
        _guard = guard;
        _raisedAt = new long[plan.Thresholds.Length];
        Arm(0, 0);
    }

    internal WalletAlertPlan Plan { get; }

    internal Wallet Wallet { get; }

    /// <summary>Gets whether threshold <paramref name="index"/> is raised (tests and diagnostics).</summary>
    internal bool IsRaised(int index) => Volatile.Read(ref _raisedAt[index]) != Armed;

    /// <summary>
    /// Sets every threshold from a balance without raising anything: raised when the balance is at or below it, armed
    /// otherwise. For a new wallet and for wallets restored at start-up, before the wallet is shared.
    /// </summary>
    internal void Arm(long balance, long inForce)
    {
        WalletAlertThreshold[] thresholds = Plan.Thresholds;
        for (int i = 0; i < thresholds.Length; i++)
        {
            long threshold = thresholds[i].UnitsOf(inForce);
            _raisedAt[i] = balance <= threshold ? threshold : Armed;
        }
    }

    /// <summary>
    /// After a settlement lowered the balance: raises each armed threshold the balance is at or below. Lock-free, never
    /// blocks or throws; allocates only to raise. Reads the wallet's blocks once; one compare-and-swap per threshold raised.
    /// </summary>
    internal void CheckSpent() => Evaluate(rearm: false);

    /// <summary>After a sweep of the wallet (a grant, refund, debit, void, expiry or activation): re-arms and raises. Caller holds the wallet's lock.</summary>
    internal void CheckChanged()
    {
        if (Evaluate(rearm: true))
        {
            // A settlement racing the re-arm may have seen the threshold raised and gone on: look at the balance again.
            Evaluate(rearm: false);
        }
    }

    /// <returns>Whether a threshold was re-armed.</returns>
    private bool Evaluate(bool rearm)
    {
        long balance = Wallet.AlertBalance(out long inForce);
        WalletAlertThreshold[] thresholds = Plan.Thresholds;
        bool rearmed = false;
        for (int i = 0; i < thresholds.Length; i++)
        {
            long threshold = thresholds[i].UnitsOf(inForce);
            long raisedAt = Volatile.Read(ref _raisedAt[i]);
            if (raisedAt == Armed)
            {
                if (balance <= threshold && Interlocked.CompareExchange(ref _raisedAt[i], threshold, Armed) == Armed)
                {
                    _guard.RaiseWalletAlert(this, i, threshold, balance, inForce);
                }
            }
            else if (rearm && balance > Math.Max(threshold, raisedAt))
            {
                // A full fence, not a plain write: the second pass must read the balance after the re-arm is visible.
                Interlocked.Exchange(ref _raisedAt[i], Armed);
                rearmed = true;
            }
        }

        return rearmed;
    }
}
