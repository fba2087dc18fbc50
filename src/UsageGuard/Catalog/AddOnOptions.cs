namespace UsageGuard;

/// <summary>An add-on: entitlements and allowances a customer buys on top of a plan; they win over the plan's for the same feature.</summary>
public sealed class AddOnOptions
{
    /// <summary>Gets or sets the add-on's id; unique among plans and add-ons, compared ordinally.</summary>
    /// <value>The default value is an empty string, which fails validation.</value>
    public string Id { get; set; } = string.Empty;

    /// <summary>Gets or sets a name for display.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Name { get; set; }

    /// <summary>Gets the add-on's entitlements, at most one per feature.</summary>
    public IList<EntitlementOptions> Entitlements { get; } = new List<EntitlementOptions>();

    /// <summary>Gets the add-on's recurring credit allowances.</summary>
    public IList<AllowanceOptions> Allowances { get; } = new List<AllowanceOptions>();
}
