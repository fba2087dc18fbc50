namespace UsageGuard;

/// <summary>The validated, immutable form of one <see cref="ModelRate"/>.</summary>
internal sealed class CompiledRate
{
    internal CompiledRate(string model, string creditType, PriceSchedule price, string? costCurrency, PriceSchedule? cost)
    {
        Model = model;
        CreditType = creditType;
        Price = price;
        CostCurrency = costCurrency;
        Cost = cost;
        Meter = "tokens:" + model;
    }

    internal string Model { get; }

    internal string CreditType { get; }

    internal PriceSchedule Price { get; }

    /// <summary>Gets the usage meter that counts the tokens priced with this rate, which places them on its tiers.</summary>
    internal string Meter { get; }

    internal string? CostCurrency { get; }

    internal PriceSchedule? Cost { get; }
}
