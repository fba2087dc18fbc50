using System.Text.Json;

namespace UsageGuard.Tests.Catalog.Sources;

/// <summary>Catalog documents as an endpoint serves them: the documented catalog, told apart by revision.</summary>
internal static class RemoteDocuments
{
    public static readonly IReadOnlyDictionary<string, int> Scales = new Dictionary<string, int>(StringComparer.Ordinal) { ["credits"] = 6, ["usd"] = 2 };

    /// <summary>The credit types of <see cref="Scales"/>, for a guard's options.</summary>
    public static void AddCreditTypes(UsageGuardOptions options)
    {
        foreach ((string code, int scale) in Scales)
        {
            options.CreditTypes.Add(new CreditTypeOptions { Code = code, Scale = scale });
        }
    }

    public static CatalogOptions Catalog(string revision)
    {
        CatalogOptions catalog = DocumentedCatalog.FromJson();
        catalog.Revision = revision;
        return catalog;
    }

    public static string Json(string revision) => Json(Catalog(revision));

    public static string Json(CatalogOptions catalog) => JsonSerializer.Serialize(catalog, CatalogJson.Default.CatalogOptions);

    /// <summary>A catalog that parses but fails validation: a negative seat limit in the pro plan.</summary>
    public static string Invalid(string revision)
    {
        CatalogOptions catalog = Catalog(revision);
        catalog.Plans.Single(p => p.Id == "pro").Entitlements.Single(e => e.Feature == "seats").Limit = -1m;
        return Json(catalog);
    }
}
