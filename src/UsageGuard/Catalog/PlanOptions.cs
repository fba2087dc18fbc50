namespace UsageGuard;

/// <summary>A plan of the catalog: entitlements and recurring credit allowances, optionally on top of other plans.</summary>
public sealed class PlanOptions
{
    /// <summary>Gets or sets the plan's id, for example <c>pro</c>; unique among plans and add-ons, compared ordinally.</summary>
    /// <value>The default value is an empty string, which fails validation.</value>
    public string Id { get; set; } = string.Empty;

    /// <summary>Gets or sets a name for display.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Name { get; set; }

    /// <summary>Gets the ids of plans whose entitlements and allowances this plan starts from; its own entitlements win over theirs, feature by feature.</summary>
    public IList<string> Includes { get; } = new List<string>();

    /// <summary>Gets the plan's entitlements, at most one per feature.</summary>
    public IList<EntitlementOptions> Entitlements { get; } = new List<EntitlementOptions>();

    /// <summary>Gets the plan's recurring credit allowances.</summary>
    public IList<AllowanceOptions> Allowances { get; } = new List<AllowanceOptions>();
}
