namespace UsageGuard;

/// <summary>A request to hold credits before work runs (or, with <see cref="IEntitlementGuard.ConsumeAsync"/>, to charge a cost known up front).</summary>
/// <remarks>
/// Identifiers are compared ordinally, may not be empty or longer than <see cref="UsageGuardOptions.MaxIdLength"/>;
/// optional ones may be <see langword="null"/>. A value type, so building one per request allocates nothing.
/// </remarks>
public readonly record struct ReservationRequest
{
    /// <summary>Gets the customer (tenant) whose wallet pays.</summary>
    public required string CustomerId { get; init; }

    /// <summary>Gets the amount to hold, in the credit type's units (for example 0.25 usd), at most the type's scale in decimal places; zero when the catalog prices the request (from <see cref="Tokens"/>, or a metered feature's price per unit).</summary>
    /// <remarks>A pre-priced amount and <see cref="Tokens"/> exclude each other: a request has one price.</remarks>
    public decimal Amount { get; init; }

    /// <summary>Gets the estimated tokens, priced with the catalog's rate for <see cref="Model"/> (the customer's contract rate first); <see langword="null"/> for a pre-priced <see cref="Amount"/>.</summary>
    public TokenUsage? Tokens { get; init; }

    /// <summary>Gets the units of a metered <see cref="Feature"/> the request uses, or <see langword="null"/> for the default: the total of <see cref="Tokens"/> when given, else 1.</summary>
    public long? Quantity { get; init; }

    /// <summary>Gets the credit type code, or <see langword="null"/> for <see cref="UsageGuardOptions.DefaultCreditType"/>.</summary>
    public string? CreditType { get; init; }

    /// <summary>Gets who acts inside the customer, for example <c>acme/eng/agent:researcher</c>.</summary>
    public string? Subject { get; init; }

    /// <summary>Gets the feature being used; blocks scoped to another feature cannot pay.</summary>
    public string? Feature { get; init; }

    /// <summary>Gets the model, recorded on ledger entries.</summary>
    public string? Model { get; init; }

    /// <summary>Gets the agent session or conversation, recorded on ledger entries.</summary>
    public string? SessionId { get; init; }

    /// <summary>Gets the request's tags, which budgets limited to a tag (<see cref="BudgetOptions.Tag"/>) match; <see langword="null"/> for none. Compared ordinally.</summary>
    /// <remarks>Not copied: the list must not change until the reservation is settled or released. A cached array allocates nothing per request.</remarks>
    public IReadOnlyList<string>? Tags { get; init; }

    /// <summary>Gets the host's request id, recorded on ledger entries.</summary>
    public string? RequestId { get; init; }

    /// <summary>Gets the idempotency key; a retry with the same key and payload replays the first outcome. <see langword="null"/> opts out.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>Gets how long the hold lives unsettled before it is released, or <see langword="null"/> for <see cref="UsageGuardOptions.DefaultReservationTtl"/>.</summary>
    public TimeSpan? Ttl { get; init; }

    /// <summary>Gets what settling above the hold does, or <see langword="null"/> for <see cref="UsageGuardOptions.DefaultOverrunPolicy"/>.</summary>
    public SettlementPolicy? OverrunPolicy { get; init; }

    /// <summary>Gets when settlement completes, or <see langword="null"/> for <see cref="UsageGuardOptions.SettlementDurability"/>.</summary>
    public Durability? Durability { get; init; }
}
