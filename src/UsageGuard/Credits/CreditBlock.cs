namespace UsageGuard;

/// <summary>The immutable terms of one grant of credits: what the block is, not how much of it is left.</summary>
/// <remarks>
/// A block's balance lives in the engine and in the ledger; see <see cref="CreditBlockBalance"/>.
/// Instances are immutable and safe to share between threads.
/// </remarks>
public sealed class CreditBlock
{
    private static readonly IReadOnlyDictionary<string, string> s_noMetadata = new Dictionary<string, string>(0);

    internal CreditBlock(
        Guid id,
        string customerId,
        string creditType,
        CreditAmount amount,
        DateTimeOffset effectiveAt,
        DateTimeOffset? expiresAt,
        int priority,
        CreditCategory category,
        decimal? costBasis,
        string? featureScope,
        IReadOnlyDictionary<string, string>? metadata,
        DateTimeOffset createdAt)
    {
        Id = id;
        CustomerId = customerId;
        CreditType = creditType;
        Amount = amount;
        EffectiveAt = effectiveAt;
        ExpiresAt = expiresAt;
        Priority = priority;
        Category = category;
        CostBasis = costBasis;
        FeatureScope = featureScope;
        Metadata = metadata ?? s_noMetadata;
        CreatedAt = createdAt;
    }

    /// <summary>Gets the block's identifier, time-ordered (UUID version 7).</summary>
    public Guid Id { get; }

    /// <summary>Gets the customer that owns the block.</summary>
    public string CustomerId { get; }

    /// <summary>Gets the credit type code.</summary>
    public string CreditType { get; }

    /// <summary>Gets the amount granted.</summary>
    public CreditAmount Amount { get; }

    /// <summary>Gets the instant from which the credits may be used.</summary>
    public DateTimeOffset EffectiveAt { get; }

    /// <summary>Gets the instant at which unused credits expire, or <see langword="null"/> when they never do.</summary>
    public DateTimeOffset? ExpiresAt { get; }

    /// <summary>Gets the burn priority: lower burns first.</summary>
    public int Priority { get; }

    /// <summary>Gets the category.</summary>
    public CreditCategory Category { get; }

    /// <summary>Gets what one credit cost the customer (money per credit), or <see langword="null"/> when unknown.</summary>
    public decimal? CostBasis { get; }

    /// <summary>Gets the only feature the credits may pay for, or <see langword="null"/> for any feature.</summary>
    public string? FeatureScope { get; }

    /// <summary>Gets free-form metadata recorded with the grant.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Gets the instant the grant was recorded.</summary>
    public DateTimeOffset CreatedAt { get; }

    internal bool CanPayFor(string? feature) => FeatureScope is null || string.Equals(FeatureScope, feature, StringComparison.Ordinal);

    /// <inheritdoc />
    public override string ToString() => $"{CreditType} block {Id} of {Amount} (priority {Priority}, {Category})";
}
