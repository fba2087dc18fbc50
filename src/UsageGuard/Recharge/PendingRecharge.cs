namespace UsageGuard;

/// <summary>
/// A recharge begun and not yet granted: its id and amount are fixed at its first try, so every retry asks the
/// payment for the same amount under the same idempotency key; once paid, the grant is fixed too, so a retried
/// grant replays instead of granting twice.
/// </summary>
internal sealed class PendingRecharge(string rechargeId, long units, string reason)
{
    internal string RechargeId { get; } = rechargeId;

    internal long Units { get; } = units;

    internal string Reason { get; } = reason;

    /// <summary>Gets or sets how many times the handler was asked, in this process.</summary>
    internal int Attempts { get; set; }

    /// <summary>Gets the payment's reference once the handler reported success, or null.</summary>
    internal string? PaymentReference { get; private set; }

    /// <summary>Gets the grant to append once paid, or null.</summary>
    internal CreditGrant? Grant { get; private set; }

    internal void Paid(string paymentReference, CreditGrant grant)
    {
        PaymentReference = paymentReference;
        Grant = grant;
    }
}
