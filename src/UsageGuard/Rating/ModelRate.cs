namespace UsageGuard;

/// <summary>The price of one model, or of a family of models, in credits per million tokens; bound from configuration and turned into a <see cref="RateCard"/>.</summary>
/// <remarks>
/// <para>This is an options object: it is mutable and not thread-safe. <see cref="RateCard.Create"/> validates it and
/// copies what it needs, so changing it afterwards does not change the card.</para>
/// </remarks>
public sealed class ModelRate
{
    /// <summary>Gets or sets the model id, such as <c>gpt-4o</c>, or a wildcard family ending in a single <c>*</c>, such as <c>claude-3-5-*</c>.</summary>
    /// <value>The default value is an empty string, which fails validation.</value>
    /// <remarks>A wildcard matches every id that starts with the text before the <c>*</c>, including that text itself; <c>*</c> alone matches every id.</remarks>
    public string Model { get; set; } = string.Empty;

    /// <summary>Gets the other model ids that resolve to this rate, such as <c>gpt-4o-2024-08-06</c>; they may not contain <c>*</c>.</summary>
    /// <value>The default value is an empty list.</value>
    public IList<string> Aliases { get; } = new List<string>();

    /// <summary>Gets or sets the code of the credit type the prices are in; the caller checks that it is configured.</summary>
    /// <value>The default value is <c>credits</c>.</value>
    public string CreditType { get; set; } = UsageGuardDefaults.CreditType;

    /// <summary>Gets or sets the price of one million input tokens, in credits.</summary>
    /// <value>The default value is 0.</value>
    public decimal InputPerMillion { get; set; }

    /// <summary>Gets or sets the price of one million cached input tokens, in credits; <see langword="null"/> for <see cref="InputPerMillion"/>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public decimal? CachedInputPerMillion { get; set; }

    /// <summary>Gets or sets the price of one million output tokens, in credits.</summary>
    /// <value>The default value is 0.</value>
    public decimal OutputPerMillion { get; set; }

    /// <summary>Gets or sets the price of one million reasoning tokens, in credits; <see langword="null"/> for <see cref="OutputPerMillion"/>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public decimal? ReasoningPerMillion { get; set; }

    /// <summary>Gets or sets what the vendor charges for the model, so that the margin of a price can be shown.</summary>
    /// <value>The default value is <see langword="null"/>: the cost is unknown.</value>
    public VendorCost? CostBasis { get; set; }

    /// <summary>Gets or sets how the tiers price a request: graduated (split at each bound) or volume (all at the tier reached).</summary>
    /// <value>The default value is <see cref="TierMode.Graduated"/>.</value>
    public TierMode TierMode { get; set; }

    /// <summary>Gets the volume tiers, in ascending order of <see cref="RateTier.UpToTokens"/>; <see cref="TierMode"/> says how they apply.</summary>
    /// <value>The default value is an empty list: every token is priced at this rate's own prices.</value>
    /// <remarks>
    /// <para>Tiers count the period's tokens of all kinds together, in the order input, cached input, output,
    /// reasoning within one request. The first tier prices the period's tokens from 0 up to its
    /// <see cref="RateTier.UpToTokens"/>, the next one from there up to its own bound, and so on; tokens beyond the
    /// last bounded tier are priced at this rate's own prices. A request that crosses a bound is split at it.</para>
    /// <para>With <see cref="TierMode"/> <see cref="UsageGuard.TierMode.Volume"/>, a request is not split: all of its tokens are
    /// priced at the tier the count has reached before it.</para>
    /// <para>The period's running count before the request is passed to <see cref="Pricing.Price"/>; a guard with a catalog
    /// keeps it per customer and rate, in the ledger. The tier counts are of this rate only.</para>
    /// </remarks>
    public IList<RateTier> Tiers { get; } = new List<RateTier>();
}
