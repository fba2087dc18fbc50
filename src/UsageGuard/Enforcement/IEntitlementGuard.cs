namespace UsageGuard;

/// <summary>Decides, before work runs, whether it may run, and records what it cost.</summary>
/// <remarks>
/// <para>Reserve an estimate across every pool the request touches (all or nothing), run the work, then settle
/// the actual cost or release the hold. A hold that is never settled is released at its TTL, lazily: no
/// background thread is needed for that to be correct.</para>
/// <para>All members are thread-safe and lock-free on the common path; a reservation that completes synchronously
/// allocates nothing.</para>
/// </remarks>
public interface IEntitlementGuard
{
    /// <summary>Gets whether the ledger store takes writes; while it does not, <see cref="UsageGuardOptions.StoreFailurePolicy"/> decides what the guard admits.</summary>
    UsageGuardHealth Health { get; }

    /// <summary>Holds an estimated amount, all or nothing.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels the call before it takes effect.</param>
    /// <returns>A handle when admitted, or a denial with its reason, scope and retry-after.</returns>
    /// <exception cref="ArgumentException">An identifier is null, empty or too long; or the amount has more decimal places than the credit type allows.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The amount is zero or negative, or the TTL is not positive or above the maximum.</exception>
    /// <exception cref="OverflowException">The amount does not fit in 64-bit units.</exception>
    /// <exception cref="UnknownCustomerException">The customer has never been granted credits.</exception>
    /// <exception cref="UnknownCreditTypeException">The credit type is not configured.</exception>
    /// <exception cref="IdempotencyConflictException">The idempotency key was used with a different payload.</exception>
    ValueTask<ReservationResult> ReserveAsync(ReservationRequest request, CancellationToken cancellationToken = default);

    /// <summary>Settles a reservation with its actual cost: at or below the hold releases the rest; above it follows the overrun policy.</summary>
    /// <param name="reservation">The handle from <see cref="ReserveAsync"/>.</param>
    /// <param name="actual">The actual cost; zero or more.</param>
    /// <param name="cancellationToken">Cancels waiting for durability; the settlement itself is applied once started.</param>
    /// <returns>What was charged, released, overdrawn or recorded.</returns>
    /// <exception cref="ReservationStateException">The reservation was already settled, released, or expired.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="actual"/> is negative.</exception>
    /// <exception cref="ArgumentException"><paramref name="actual"/> has more decimal places than the credit type allows, or the handle is the default value.</exception>
    /// <exception cref="OverflowException"><paramref name="actual"/> does not fit in 64-bit units.</exception>
    ValueTask<SettlementResult> SettleAsync(Reservation reservation, decimal actual, CancellationToken cancellationToken = default);

    /// <summary>Settles a reservation priced from <see cref="ReservationRequest.Tokens"/> with the tokens actually used, priced with the same rate and catalog version as the reservation.</summary>
    /// <param name="reservation">The handle from <see cref="ReserveAsync"/>.</param>
    /// <param name="actual">The tokens used; every count zero or more.</param>
    /// <param name="cancellationToken">Cancels waiting for durability; the settlement itself is applied once started.</param>
    /// <returns>What was charged, released, overdrawn or recorded; a metered quantity taken from the tokens settles at their total.</returns>
    /// <exception cref="ReservationStateException">The reservation was already settled, released, or expired.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A token count is negative (<c>ParamName</c> names the count, such as <c>OutputTokens</c>); the reservation is unchanged.</exception>
    /// <exception cref="ArgumentException">The reservation was not priced from tokens, or the handle is the default value.</exception>
    /// <exception cref="OverflowException">The price does not fit in 64-bit units.</exception>
    ValueTask<SettlementResult> SettleAsync(Reservation reservation, TokenUsage actual, CancellationToken cancellationToken = default);

    /// <summary>
    /// Settles a reservation priced from <see cref="ReservationRequest.Tokens"/> with the tokens actually used, priced for the model that
    /// answered (<see cref="TokenSettlement.Model"/>) and marked when they are an estimate (<see cref="TokenSettlement.Estimated"/>).
    /// </summary>
    /// <param name="reservation">The handle from <see cref="ReserveAsync"/>.</param>
    /// <param name="settlement">The tokens, the answering model, and whether the tokens are an estimate.</param>
    /// <param name="cancellationToken">Cancels waiting for durability; the settlement itself is applied once started.</param>
    /// <returns>What was charged, released, overdrawn or recorded.</returns>
    /// <exception cref="ReservationStateException">The reservation was already settled, released, or expired.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A token count is negative; the reservation is unchanged.</exception>
    /// <exception cref="ArgumentException">The reservation was not priced from tokens, the model id is empty, or the handle is the default value.</exception>
    /// <exception cref="OverflowException">The price does not fit in 64-bit units.</exception>
    ValueTask<SettlementResult> SettleAsync(Reservation reservation, TokenSettlement settlement, CancellationToken cancellationToken = default);

    /// <summary>Decides whether a customer may use a feature now, from the catalog in force: access, config value, limit, usage and reset.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="featureId">The feature.</param>
    /// <param name="requested">The units about to be used, for a metered feature (0 asks only whether any use is allowed, and reports usage).</param>
    /// <returns>The decision; a value, allocation-free. Checking holds nothing: reserve to hold the units.</returns>
    /// <exception cref="ArgumentException">An identifier is null, empty or too long.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="requested"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">No catalog is registered (<c>UseCatalog</c>).</exception>
    EntitlementDecision Check(string customerId, string featureId, long requested = 0);

    /// <summary>Releases a reservation's whole hold without charging.</summary>
    /// <param name="reservation">The handle from <see cref="ReserveAsync"/>.</param>
    /// <param name="cancellationToken">Cancels the call before it takes effect.</param>
    /// <returns>A task that completes when the hold is released.</returns>
    /// <exception cref="ReservationStateException">The reservation was already settled, released, or expired.</exception>
    /// <exception cref="ArgumentException">The handle is the default value.</exception>
    ValueTask ReleaseAsync(Reservation reservation, CancellationToken cancellationToken = default);

    /// <summary>Charges a cost known up front: a reservation and its settlement in one step, all or nothing.</summary>
    /// <param name="request">The request; <see cref="ReservationRequest.Amount"/> is the cost.</param>
    /// <param name="cancellationToken">Cancels waiting for durability.</param>
    /// <returns>The settlement when admitted, or a denial.</returns>
    /// <exception cref="ArgumentException">An identifier is null, empty or too long; or the amount has more decimal places than the credit type allows.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The amount is zero or negative.</exception>
    /// <exception cref="OverflowException">The amount does not fit in 64-bit units.</exception>
    /// <exception cref="UnknownCustomerException">The customer has never been granted credits.</exception>
    /// <exception cref="UnknownCreditTypeException">The credit type is not configured.</exception>
    /// <exception cref="IdempotencyConflictException">The idempotency key was used with a different payload.</exception>
    ValueTask<ConsumeResult> ConsumeAsync(ReservationRequest request, CancellationToken cancellationToken = default);
}
