namespace UsageGuard;

/// <summary>One customer's governance: its subject tree, its budgets and the time zone their windows align to.</summary>
public sealed class CustomerGovernanceOptions
{
    /// <summary>Gets or sets the customer (tenant) id.</summary>
    public string CustomerId { get; set; } = "";

    /// <summary>Gets or sets the IANA time zone the budgets' windows align to, or <see langword="null"/> for UTC.</summary>
    /// <value>The default value is <see langword="null"/>: days start at midnight UTC, weeks on Monday, months on the 1st.</value>
    public string? TimeZone { get; set; }

    /// <summary>Gets the subject tree's nodes.</summary>
    public IList<SubjectOptions> Subjects { get; } = new List<SubjectOptions>();

    /// <summary>Gets the budgets.</summary>
    public IList<BudgetOptions> Budgets { get; } = new List<BudgetOptions>();
}
