namespace UsageGuard;

/// <summary>A request to grant credits as a new block.</summary>
public sealed class CreditGrant
{
    /// <summary>Gets the customer that receives the credits; the first grant makes the customer known.</summary>
    public required string CustomerId { get; init; }

    /// <summary>Gets the amount; positive, at most the credit type's scale in decimal places.</summary>
    public required decimal Amount { get; init; }

    /// <summary>Gets the credit type code, or <see langword="null"/> for <see cref="UsageGuardOptions.DefaultCreditType"/>.</summary>
    public string? CreditType { get; init; }

    /// <summary>Gets when the credits become usable, or <see langword="null"/> for now.</summary>
    public DateTimeOffset? EffectiveAt { get; init; }

    /// <summary>Gets when unused credits expire, or <see langword="null"/> for never; must be after the effective time.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Gets the burn priority: lower burns first.</summary>
    /// <value>The default value is 0.</value>
    public int Priority { get; init; }

    /// <summary>Gets the category.</summary>
    /// <value>The default value is <see cref="CreditCategory.Paid"/>.</value>
    public CreditCategory Category { get; init; } = CreditCategory.Paid;

    /// <summary>Gets what one credit cost the customer (money per credit), or <see langword="null"/>; never negative.</summary>
    public decimal? CostBasis { get; init; }

    /// <summary>Gets the only feature the credits may pay for, or <see langword="null"/> for any.</summary>
    public string? FeatureScope { get; init; }

    /// <summary>Gets free-form metadata recorded with the grant (for example an invoice or promotion id).</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Gets the idempotency key; a retry with the same key and payload replays the first outcome.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>Gets when the call completes, or <see langword="null"/> for <see cref="UsageGuardOptions.GrantDurability"/>.</summary>
    public Durability? Durability { get; init; }
}
