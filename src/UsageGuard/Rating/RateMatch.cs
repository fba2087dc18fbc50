namespace UsageGuard;

/// <summary>How a model id matched a rate of a <see cref="RateCard"/>, in order of precedence.</summary>
public enum RateMatch
{
    /// <summary>Nothing matched; the value of a default <see cref="ResolvedRate"/>.</summary>
    None = 0,

    /// <summary>The id equals the rate's <see cref="ModelRate.Model"/>.</summary>
    Exact = 1,

    /// <summary>The id equals one of the rate's <see cref="ModelRate.Aliases"/>.</summary>
    Alias = 2,

    /// <summary>The id starts with the prefix of the rate's wildcard <see cref="ModelRate.Model"/> (the longest such prefix wins).</summary>
    Wildcard = 3,
}
