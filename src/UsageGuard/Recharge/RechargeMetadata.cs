namespace UsageGuard;

/// <summary>The metadata keys auto-recharge writes on the blocks it grants; the ledger is the record of every recharge.</summary>
/// <remarks>Reserved: a block that carries <see cref="RechargeId"/> counts as a recharge of its wallet (for the monthly cap and the next recharge's id).</remarks>
public static class RechargeMetadata
{
    /// <summary>The key of the recharge's <see cref="RechargeRequest.RechargeId"/>: present on every block auto-recharge granted.</summary>
    public const string RechargeId = "usageguard.recharge";

    /// <summary>The key of the payment reference the handler returned.</summary>
    public const string PaymentReference = "usageguard.recharge.payment";

    /// <summary>The prefix of the grant's idempotency key, followed by the <see cref="RechargeId"/>.</summary>
    public const string IdempotencyKeyPrefix = "recharge:";
}
