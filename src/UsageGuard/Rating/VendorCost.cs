namespace UsageGuard;

/// <summary>What the model's vendor charges per million tokens, in a currency, so that the margin of a price can be shown.</summary>
public sealed class VendorCost
{
    /// <summary>Gets or sets the currency code of the prices, for example <c>USD</c>.</summary>
    /// <value>The default value is an empty string, which fails validation.</value>
    public string Currency { get; set; } = string.Empty;

    /// <summary>Gets or sets the cost of one million input tokens.</summary>
    /// <value>The default value is 0.</value>
    public decimal InputPerMillion { get; set; }

    /// <summary>Gets or sets the cost of one million cached input tokens; <see langword="null"/> for <see cref="InputPerMillion"/>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public decimal? CachedInputPerMillion { get; set; }

    /// <summary>Gets or sets the cost of one million output tokens.</summary>
    /// <value>The default value is 0.</value>
    public decimal OutputPerMillion { get; set; }

    /// <summary>Gets or sets the cost of one million reasoning tokens; <see langword="null"/> for <see cref="OutputPerMillion"/>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public decimal? ReasoningPerMillion { get; set; }
}
