namespace UsageGuard;

/// <summary>The rate a <see cref="RateCard"/> found for a model id; pass it to <see cref="Pricing.Price"/>.</summary>
/// <remarks>
/// <para>An immutable value that refers to the card's snapshot, so it prices with the rates of the card it came
/// from even after the configuration was reloaded. Safe to share between threads.</para>
/// <para>The default value matched nothing (<see cref="Match"/> is <see cref="RateMatch.None"/>) and cannot be
/// priced.</para>
/// </remarks>
public readonly record struct ResolvedRate
{
    internal ResolvedRate(CompiledRate rate, RateMatch match)
    {
        Rate = rate;
        Match = match;
    }

    /// <summary>Gets the <see cref="ModelRate.Model"/> of the rate that matched: the model id, or the wildcard pattern such as <c>gpt-4o*</c>.</summary>
    public string Model => Rate?.Model ?? string.Empty;

    /// <summary>Gets the code of the credit type the rate's prices are in.</summary>
    public string CreditType => Rate?.CreditType ?? string.Empty;

    /// <summary>Gets how the model id matched the rate.</summary>
    public RateMatch Match { get; }

    /// <summary>Gets the currency of the rate's vendor cost, or <see langword="null"/> when the rate has no <see cref="ModelRate.CostBasis"/>.</summary>
    public string? CostCurrency => Rate?.CostCurrency;

    internal CompiledRate? Rate { get; }
}
