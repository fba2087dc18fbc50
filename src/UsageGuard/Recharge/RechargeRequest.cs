namespace UsageGuard;

/// <summary>One payment an auto-recharge asks the <see cref="IRechargeHandler"/> to take.</summary>
public sealed class RechargeRequest
{
    /// <summary>Gets the customer whose wallet is recharged.</summary>
    public required string CustomerId { get; init; }

    /// <summary>Gets the wallet's credit type code.</summary>
    public required string CreditType { get; init; }

    /// <summary>Gets the credits to grant when the payment succeeds; positive, at the credit type's scale.</summary>
    public required decimal Amount { get; init; }

    /// <summary>Gets what one credit costs (<see cref="AutoRechargeOptions.CostBasis"/>), or <see langword="null"/>: the price is <see cref="Amount"/> times it.</summary>
    public decimal? CostBasis { get; init; }

    /// <summary>
    /// Gets the recharge's identifier: the same for every try of this recharge, in this process and after a restart, until
    /// its credits are granted; the next recharge of the wallet has another. Use it as the payment's idempotency key.
    /// </summary>
    /// <remarks>32 lowercase hexadecimal digits, derived from the customer, the credit type and how many recharges the ledger holds for the wallet.</remarks>
    public required string RechargeId { get; init; }

    /// <summary>Gets which try of this recharge this is in this process: 1 for the first, more after failed payments.</summary>
    public int Attempt { get; init; } = 1;

    /// <summary>Gets why the recharge was made, for the payment's description or a log.</summary>
    public required string Reason { get; init; }
}
