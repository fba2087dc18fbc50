namespace UsageGuard;

/// <summary>Takes the payment for an auto-recharge; implemented by the host (a payment provider, an invoice, an internal transfer).</summary>
/// <remarks>
/// <para>Called off the request path, by one background worker, never twice at once for the same wallet. The guard grants
/// the credits only after <see cref="RechargeOutcome.Succeeded"/>; a <see cref="RechargeOutcome.Failed"/> outcome, or an
/// exception, means no money moved, and the guard tries again after a back-off with the same
/// <see cref="RechargeRequest.RechargeId"/>.</para>
/// <para>Use <see cref="RechargeRequest.RechargeId"/> as the payment's idempotency key: after a crash between a payment and
/// its grant, the restarted guard asks for the same recharge again, with the same id, and the payment must not be taken twice.</para>
/// <para>Impose your own timeout: the wallet is not recharged again while a call is in progress. The token is cancelled when the guard stops.</para>
/// </remarks>
public interface IRechargeHandler
{
    /// <summary>Takes the payment for a recharge.</summary>
    /// <param name="request">The wallet, the amount and the recharge's idempotency key.</param>
    /// <param name="cancellationToken">Cancelled when the guard stops.</param>
    /// <returns>Whether the payment was taken, with its reference, or why not.</returns>
    ValueTask<RechargeOutcome> ChargeAsync(RechargeRequest request, CancellationToken cancellationToken);
}
