namespace UsageGuard;

/// <summary>A customer's contract rates: they win over the catalog's <see cref="CatalogOptions.Models"/> for every model id they match.</summary>
public sealed class CustomerRatesOptions
{
    /// <summary>Gets or sets the customer's id.</summary>
    /// <value>The default value is an empty string, which fails validation.</value>
    public string Customer { get; set; } = string.Empty;

    /// <summary>Gets the contract's model rates.</summary>
    public IList<ModelRate> Models { get; } = new List<ModelRate>();
}
