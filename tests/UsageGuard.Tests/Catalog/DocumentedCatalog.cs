using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace UsageGuard.Tests.Catalog;

/// <summary>The complete catalog example of docs/catalog.md, read from the page itself so that the page stays valid.</summary>
internal static class DocumentedCatalog
{
    internal static string Json()
    {
        string page = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "catalog.md"));
        int start = page.IndexOf("```json", StringComparison.Ordinal);
        int end = page.IndexOf("```", start + 7, StringComparison.Ordinal);
        if (start < 0 || end < 0)
        {
            throw new InvalidOperationException("docs/catalog.md has no ```json block.");
        }

        return page[(start + 7)..end];
    }

    /// <summary>Bound as a host binds appsettings.json: the example as the <c>UsageGuard:Catalog</c> section, through the configuration binder.</summary>
    internal static CatalogOptions FromConfiguration()
    {
        string appsettings = $"{{ \"UsageGuard\": {{ \"Catalog\": {Json()} }} }}";
        IConfigurationRoot configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(appsettings))).Build();
        var options = new CatalogOptions();
        configuration.GetSection("UsageGuard:Catalog").Bind(options, binder => binder.ErrorOnUnknownConfiguration = true);
        return options;
    }

    /// <summary>Read with the catalog's own JSON form (what remote and persisted catalogs use).</summary>
    internal static CatalogOptions FromJson() =>
        JsonSerializer.Deserialize(Json(), CatalogJson.Default.CatalogOptions) ?? throw new InvalidOperationException("The example is empty.");

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "UsageGuard.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (UsageGuard.sln) was not found above " + AppContext.BaseDirectory);
    }
}
