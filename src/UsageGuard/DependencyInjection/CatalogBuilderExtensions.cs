using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace UsageGuard;

/// <summary>Registers the catalog (plans, features, rates, subscriptions) with UsageGuard.</summary>
public static class CatalogBuilderExtensions
{
    /// <summary>Makes the guard entitle and price requests from <see cref="CatalogOptions"/>, read through <c>IOptionsMonitor</c> and swapped on each change.</summary>
    /// <param name="builder">The UsageGuard builder.</param>
    /// <param name="configure">Builds the catalog in code, or <see langword="null"/> when it is bound elsewhere, for example with
    /// <c>services.Configure&lt;CatalogOptions&gt;(configuration.GetSection("UsageGuard:Catalog"))</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// The catalog is compiled when the guard starts; an invalid catalog at start throws <see cref="CatalogValidationException"/>, since a
    /// guard should not serve without one. A later invalid change is rejected whole and logged, and the last good catalog keeps serving.
    /// </remarks>
    public static IUsageGuardBuilder UseCatalog(this IUsageGuardBuilder builder, Action<CatalogOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        OptionsBuilder<CatalogOptions> options = builder.Services.AddOptions<CatalogOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddSingleton<CatalogRegistration>();
        return builder;
    }
}
