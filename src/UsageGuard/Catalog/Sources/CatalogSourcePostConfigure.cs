using Microsoft.Extensions.Options;

namespace UsageGuard;

/// <summary>Makes the catalog options equal to the source's document while it has one; until then the statically configured catalog applies.</summary>
/// <remarks>
/// A post-configuration, so it runs after every <c>Configure</c> (configuration binding included) whatever the order of
/// registration: binding appends to the catalog's lists, and the source's document must replace the catalog whole.
/// </remarks>
internal sealed class CatalogSourcePostConfigure(ICatalogSource source) : IPostConfigureOptions<CatalogOptions>
{
    public void PostConfigure(string? name, CatalogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (name != Options.DefaultName)
        {
            return;
        }

        CatalogOptions? document = source.Current;
        if (document is not null)
        {
            CatalogDocument.Overwrite(options, document);
        }
    }
}
