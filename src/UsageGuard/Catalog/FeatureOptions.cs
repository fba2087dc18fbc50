namespace UsageGuard;

/// <summary>Declares one feature of the catalog: something gated, configured or metered.</summary>
public sealed class FeatureOptions
{
    /// <summary>Gets or sets the feature's id, for example <c>chat.completions</c>; unique in the catalog, compared ordinally.</summary>
    /// <value>The default value is an empty string, which fails validation.</value>
    public string Id { get; set; } = string.Empty;

    /// <summary>Gets or sets what the feature is.</summary>
    /// <value>The default value is <see cref="FeatureKind.Boolean"/>.</value>
    public FeatureKind Kind { get; set; }

    /// <summary>Gets or sets the type of a <see cref="FeatureKind.Config"/> feature's value.</summary>
    /// <value>The default value is <see cref="ConfigValueType.Text"/>.</value>
    public ConfigValueType ValueType { get; set; }

    /// <summary>Gets the values a <see cref="ConfigValueType.Choice"/> feature may take.</summary>
    public IList<string> AllowedValues { get; } = new List<string>();

    /// <summary>Gets or sets the unit a <see cref="FeatureKind.Metered"/> feature counts, for display (for example <c>requests</c>, <c>tokens</c>).</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Unit { get; set; }

    /// <summary>Gets or sets the credit type a metered feature's units are priced in; required with <see cref="PricePerUnit"/>.</summary>
    /// <value>The default value is <see langword="null"/>: not priced in credits.</value>
    public string? CreditType { get; set; }

    /// <summary>Gets or sets the credits one unit of a metered feature costs.</summary>
    /// <value>The default value is <see langword="null"/>: not priced in credits (model usage is priced by the rate card).</value>
    public decimal? PricePerUnit { get; set; }

    /// <summary>
    /// Gets or sets the credits of <see cref="CreditType"/> one instance may admit for this feature, per wallet and outage, beyond what
    /// its leases hold while the shared store cannot be reached (many instances, docs/scale-out.md). What it admits so is recorded as
    /// the wallet's debt (<see cref="LedgerEntryKind.Overdraft"/> entries). Requires <see cref="CreditType"/>; at least 0.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: no allowance, the feature fails closed once the leases cannot pay.</value>
    public decimal? OfflineAllowance { get; set; }
}
