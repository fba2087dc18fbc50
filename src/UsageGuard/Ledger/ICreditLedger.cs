namespace UsageGuard;

/// <summary>The credit ledger: grants, voids, corrections, balances and history.</summary>
/// <remarks>
/// Every change is an immutable, hash-chained <see cref="LedgerEntry"/> written by one writer. All members are
/// thread-safe. Administrative operations take a short per-wallet lock; reservations never wait for them.
/// </remarks>
public interface ICreditLedger
{
    /// <summary>Grants credits as a new block; if the wallet owes overdraft debt, the grant pays it first.</summary>
    /// <param name="grant">The grant.</param>
    /// <param name="cancellationToken">Cancels waiting for durability.</param>
    /// <returns>The new block.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="grant"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An identifier is null, empty or too long; the amount has too many decimal places; or the expiry is not after the effective time.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The amount is not positive, or the cost basis is negative.</exception>
    /// <exception cref="UnknownCreditTypeException">The credit type is not configured.</exception>
    /// <exception cref="IdempotencyConflictException">The idempotency key was used with a different payload.</exception>
    ValueTask<GrantResult> GrantAsync(CreditGrant grant, CancellationToken cancellationToken = default);

    /// <summary>Voids a block from now on: its unused, unheld credits are removed; past use and in-flight holds stand.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="blockId">The block.</param>
    /// <param name="reason">Why; recorded on the entry.</param>
    /// <param name="idempotencyKey">The idempotency key, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels waiting for durability.</param>
    /// <returns>What was removed.</returns>
    /// <exception cref="ArgumentException">An identifier is null, empty or too long.</exception>
    /// <exception cref="UnknownCustomerException">The customer is not known.</exception>
    /// <exception cref="UnknownCreditBlockException">The customer has no such block.</exception>
    /// <exception cref="InvalidOperationException">The block is already voided or expired.</exception>
    /// <exception cref="IdempotencyConflictException">The idempotency key was used with a different payload.</exception>
    ValueTask<AdjustmentResult> VoidAsync(string customerId, Guid blockId, string reason, string? idempotencyKey = null, CancellationToken cancellationToken = default);

    /// <summary>Corrects a wallet: a positive amount unwinds use in reverse burn order, a negative one uses credits in burn order.</summary>
    /// <param name="adjustment">The adjustment.</param>
    /// <param name="cancellationToken">Cancels waiting for durability.</param>
    /// <returns>The change to each block.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="adjustment"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An identifier or the reason is null, empty or too long; the amount has too many decimal places; or a refund exceeds what open blocks have used.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The amount is zero.</exception>
    /// <exception cref="UnknownCustomerException">The customer is not known.</exception>
    /// <exception cref="UnknownCreditTypeException">The credit type is not configured.</exception>
    /// <exception cref="InsufficientCreditsException">A debit exceeds the available credits.</exception>
    /// <exception cref="IdempotencyConflictException">The idempotency key was used with a different payload.</exception>
    ValueTask<AdjustmentResult> AdjustAsync(CreditAdjustment adjustment, CancellationToken cancellationToken = default);

    /// <summary>Reads a wallet's live balances and blocks.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="creditType">The credit type, or <see langword="null"/> for the default.</param>
    /// <returns>The balances.</returns>
    /// <exception cref="ArgumentException">An identifier is null, empty or too long.</exception>
    /// <exception cref="UnknownCustomerException">The customer is not known.</exception>
    /// <exception cref="UnknownCreditTypeException">The credit type is not configured.</exception>
    WalletBalance GetBalance(string customerId, string? creditType = null);

    /// <summary>Computes a wallet's posted balance as of a past instant from the ledger.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="asOf">The instant; entries stamped at or before it count.</param>
    /// <param name="creditType">The credit type, or <see langword="null"/> for the default.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The posted balance then.</returns>
    /// <exception cref="ArgumentException">An identifier is null, empty or too long.</exception>
    /// <exception cref="UnknownCustomerException">The customer is not known.</exception>
    /// <exception cref="UnknownCreditTypeException">The credit type is not configured.</exception>
    ValueTask<CreditAmount> GetBalanceAsOfAsync(string customerId, DateTimeOffset asOf, string? creditType = null, CancellationToken cancellationToken = default);

    /// <summary>Reads one customer's ledger entries, with their before/after balances, after committing what is queued.</summary>
    /// <param name="query">The filter and page.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The entries in sequence order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is <see langword="null"/>.</exception>
    ValueTask<IReadOnlyList<LedgerEntry>> GetHistoryAsync(LedgerQuery query, CancellationToken cancellationToken = default);

    /// <summary>Commits everything queued, then walks the whole stored chain and recomputes every balance.</summary>
    /// <param name="cancellationToken">Cancels the walk.</param>
    /// <returns>The result, naming the first bad entry.</returns>
    ValueTask<LedgerVerificationResult> VerifyAsync(CancellationToken cancellationToken = default);

    /// <summary>Waits until every entry queued before the call is committed to the store.</summary>
    /// <param name="cancellationToken">Cancels the wait, not the commit.</param>
    /// <returns>A task that completes when the queue before the call is committed.</returns>
    ValueTask FlushAsync(CancellationToken cancellationToken = default);
}
