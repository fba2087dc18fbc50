using System.Text.Json;

namespace UsageGuard;

/// <summary>Whole-document operations on <see cref="CatalogOptions"/>, through the catalog's JSON form.</summary>
internal static class CatalogDocument
{
    /// <summary>Makes <paramref name="target"/> equal to <paramref name="document"/>, sharing no mutable object with it.</summary>
    /// <remarks>
    /// A deep copy through JSON, then every property moved over: a source's document stays untouched by whatever later
    /// configures the options, and nothing of the statically configured catalog remains in the target.
    /// A property added to <see cref="CatalogOptions"/> must be added here; a test reflects over the type to catch one that is not.
    /// </remarks>
    internal static void Overwrite(CatalogOptions target, CatalogOptions document)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(document);
        CatalogOptions copy = Clone(document);
        target.Revision = copy.Revision;
        Replace(target.Features, copy.Features);
        Replace(target.Plans, copy.Plans);
        Replace(target.AddOns, copy.AddOns);
        Replace(target.Overrides, copy.Overrides);
        Replace(target.Models, copy.Models);
        Replace(target.ContractRates, copy.ContractRates);
        Replace(target.Subscriptions, copy.Subscriptions);
        target.UnknownFeatures = copy.UnknownFeatures;
        target.UnknownModels = copy.UnknownModels;
    }

    /// <summary>A deep copy through the catalog's JSON form.</summary>
    internal static CatalogOptions Clone(CatalogOptions document) =>
        JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(document, CatalogJson.Default.CatalogOptions), CatalogJson.Default.CatalogOptions)
        ?? throw new InvalidOperationException("A catalog serialized to JSON null.");

    private static void Replace<T>(IList<T> target, IList<T> items)
    {
        target.Clear();
        foreach (T item in items)
        {
            target.Add(item);
        }
    }
}
