namespace UsageGuard;

/// <summary>One graduated volume tier of a <see cref="ModelRate"/>: the prices of the tokens up to a running count in the usage period.</summary>
/// <remarks>
/// Tiers count all token kinds together. A tier prices the period's tokens from the previous tier's
/// <see cref="UpToTokens"/> (or zero) up to its own; see <see cref="ModelRate.Tiers"/>.
/// </remarks>
public sealed class RateTier
{
    /// <summary>Gets or sets the running token count in the period at which this tier ends (exclusive); <see langword="null"/> for no end.</summary>
    /// <value>The default value is <see langword="null"/>: the tier is unbounded, which is only allowed for the last tier.</value>
    public long? UpToTokens { get; set; }

    /// <summary>Gets or sets the price of one million input tokens in this tier, in credits.</summary>
    /// <value>The default value is 0.</value>
    public decimal InputPerMillion { get; set; }

    /// <summary>Gets or sets the price of one million cached input tokens in this tier, in credits; <see langword="null"/> for the tier's <see cref="InputPerMillion"/>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public decimal? CachedInputPerMillion { get; set; }

    /// <summary>Gets or sets the price of one million output tokens in this tier, in credits.</summary>
    /// <value>The default value is 0.</value>
    public decimal OutputPerMillion { get; set; }

    /// <summary>Gets or sets the price of one million reasoning tokens in this tier, in credits; <see langword="null"/> for the tier's <see cref="OutputPerMillion"/>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public decimal? ReasoningPerMillion { get; set; }
}
