namespace UsageGuard;

/// <summary>An entitlement for one customer that wins over its plan and add-ons, optionally for a bounded time.</summary>
public sealed class CustomerOverrideOptions
{
    /// <summary>Gets or sets the customer's id.</summary>
    /// <value>The default value is an empty string, which fails validation.</value>
    public string Customer { get; set; } = string.Empty;

    /// <summary>Gets or sets the first instant the override applies.</summary>
    /// <value>The default value is <see langword="null"/>: from the beginning.</value>
    public DateTimeOffset? From { get; set; }

    /// <summary>Gets or sets the instant the override stops applying (exclusive).</summary>
    /// <value>The default value is <see langword="null"/>: without end.</value>
    public DateTimeOffset? Until { get; set; }

    /// <summary>Gets or sets the entitlement that applies meanwhile.</summary>
    /// <value>The default value is an empty entitlement, which fails validation.</value>
    public EntitlementOptions Entitlement { get; set; } = new();
}
