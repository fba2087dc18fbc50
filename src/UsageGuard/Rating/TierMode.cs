namespace UsageGuard;

/// <summary>How a <see cref="ModelRate"/>'s <see cref="ModelRate.Tiers"/> price the tokens of a request.</summary>
public enum TierMode
{
    /// <summary>Each token is priced at the tier its place in the period's count falls in; a request that crosses a bound is split at it.</summary>
    Graduated = 0,

    /// <summary>
    /// All of a request's tokens are priced at the tier the period's count has reached before the request. Earlier requests are never
    /// repriced: a customer crossing into a cheaper tier pays its price from the next request on.
    /// </summary>
    Volume = 1,
}
