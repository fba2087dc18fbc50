using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace UsageGuard;

/// <summary>Plugs a catalog source into a guard: the source's document replaces the statically configured catalog while it has one.</summary>
public static class CatalogSourceUsageGuardBuilderExtensions
{
    /// <summary>Takes the catalog from <paramref name="source"/>: <see cref="IOptionsMonitor{TOptions}"/> of <see cref="CatalogOptions"/> reports its document, and each change of it.</summary>
    /// <param name="builder">The builder returned by <see cref="UsageGuardServiceCollectionExtensions.AddUsageGuard"/>.</param>
    /// <param name="source">The source; the caller owns it and disposes it, if it needs disposing.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="source"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// While the source has no document (<see cref="ICatalogSource.Current"/> is <see langword="null"/>), the statically
    /// configured catalog (code or configuration) applies; once it has one, that document replaces the catalog whole,
    /// after every other configuration of it. A later call replaces the source of an earlier one.
    /// </remarks>
    public static IUsageGuardBuilder UseCatalogSource(this IUsageGuardBuilder builder, ICatalogSource source)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(source);
        builder.Services.RemoveAll<ICatalogSource>();
        builder.Services.AddSingleton(source);
        AddOptionsPlumbing(builder.Services);
        return builder;
    }

    /// <summary>Takes the catalog from an HTTP endpoint, polled in the background with <c>If-None-Match</c>; the last good document keeps serving while the endpoint is down or serves an invalid one.</summary>
    /// <param name="builder">The builder returned by <see cref="UsageGuardServiceCollectionExtensions.AddUsageGuard"/>.</param>
    /// <param name="configure">Sets the source's options; <see cref="HttpCatalogSourceOptions.Endpoint"/> is required.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option is missing or out of range; the message names it.</exception>
    /// <remarks>
    /// <para>
    /// The source starts when the host starts, or on first use of the catalog options without a host: it loads
    /// <see cref="HttpCatalogSourceOptions.CacheFile"/>, which then serves at once, and polls. Each document the endpoint
    /// serves is validated against the configured credit types; a valid one replaces the catalog and is persisted, an
    /// invalid one is logged once and ignored. With neither a cached nor a fetched document (first start while the endpoint
    /// is down), the statically configured catalog applies until the endpoint answers. Polling stops when the host stops or
    /// the service provider is disposed.
    /// </para>
    /// <para>The options are read once, here. A later call replaces the source of an earlier one.</para>
    /// </remarks>
    public static IUsageGuardBuilder UseHttpCatalog(this IUsageGuardBuilder builder, Action<HttpCatalogSourceOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new HttpCatalogSourceOptions();
        configure(options);
        options.Validate();
        builder.Services.RemoveAll<ICatalogSource>();
        builder.Services.AddSingleton<ICatalogSource>(services => CreateHttpSource(options, services));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, CatalogSourceHostedService>());
        AddOptionsPlumbing(builder.Services);
        return builder;
    }

    private static HttpCatalogSource CreateHttpSource(HttpCatalogSourceOptions options, IServiceProvider services)
    {
        UsageGuardOptions guard = services.GetRequiredService<IOptions<UsageGuardOptions>>().Value;
        ILogger logger = (services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("UsageGuard.Catalog");
        HttpMessageHandler handler = options.PrimaryHandler?.Invoke() ?? HttpCatalogSource.CreateDefaultHandler();
        var source = new HttpCatalogSource(options, EntitlementGuard.CreditTypeScales(guard), handler, services.GetRequiredService<TimeProvider>(), logger);

        // Started on first resolution, which the options monitor's first use or the hosted service makes, whichever comes first.
        source.Start();
        return source;
    }

    internal static void AddOptionsPlumbing(IServiceCollection services)
    {
        services.AddOptions<CatalogOptions>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<CatalogOptions>, CatalogSourcePostConfigure>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOptionsChangeTokenSource<CatalogOptions>, CatalogSourceChangeTokenSource>());
    }
}
