using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using UsageGuard.PostgreSql;

namespace UsageGuard;

/// <summary>Plugs the PostgreSQL ledger store into a guard.</summary>
public static class PostgreSqlUsageGuardBuilderExtensions
{
    /// <summary>Keeps the ledger in PostgreSQL.</summary>
    /// <param name="builder">The builder returned by <see cref="UsageGuardServiceCollectionExtensions.AddUsageGuard"/>.</param>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is null, empty or white space.</exception>
    public static IUsageGuardBuilder UsePostgreSql(this IUsageGuardBuilder builder, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UsePostgreSql(o => o.ConnectionString = connectionString);
    }

    /// <summary>Keeps the ledger in PostgreSQL, through a data source the host built (and disposes).</summary>
    /// <param name="builder">The builder returned by <see cref="UsageGuardServiceCollectionExtensions.AddUsageGuard"/>.</param>
    /// <param name="dataSource">The data source.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="dataSource"/> is <see langword="null"/>.</exception>
    public static IUsageGuardBuilder UsePostgreSql(this IUsageGuardBuilder builder, NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return builder.UsePostgreSql(o => o.DataSource = dataSource);
    }

    /// <summary>Keeps the ledger in PostgreSQL, configured in full.</summary>
    /// <param name="builder">The builder returned by <see cref="UsageGuardServiceCollectionExtensions.AddUsageGuard"/>.</param>
    /// <param name="configure">Sets the store's options.</param>
    /// <returns>The same builder.</returns>
    /// <remarks>The schema is created or migrated when the guard starts (its first read of the store); a server that cannot be reached stops the start with <see cref="LedgerUnavailableException"/>.</remarks>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static IUsageGuardBuilder UsePostgreSql(this IUsageGuardBuilder builder, Action<PostgreSqlLedgerStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new PostgreSqlLedgerStoreOptions();
        configure(options);
        options.Validate();
        builder.Services.Replace(ServiceDescriptor.Singleton<ILedgerStore>(_ => new PostgreSqlLedgerStore(options)));
        builder.Services.Replace(ServiceDescriptor.Singleton(options));
        return builder;
    }

    /// <summary>
    /// Takes the catalog from the PostgreSQL store configured with <c>UsePostgreSql</c>: every instance serves the newest catalog
    /// published with <see cref="PostgreSqlCatalogSource.PublishAsync"/> (resolve <see cref="PostgreSqlCatalogSource"/> to publish),
    /// within a second of its publication.
    /// </summary>
    /// <param name="builder">The builder returned by <see cref="UsageGuardServiceCollectionExtensions.AddUsageGuard"/>.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// Until a catalog is published, the statically configured catalog (code or configuration) applies. A later call of another
    /// catalog source replaces this one. Call <c>UsePostgreSql</c> first: the source uses the store's connection and schema.
    /// </remarks>
    public static IUsageGuardBuilder UsePostgreSqlCatalog(this IUsageGuardBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.RemoveAll<ICatalogSource>();
        builder.Services.TryAddSingleton(services =>
        {
            PostgreSqlLedgerStoreOptions store = services.GetService<PostgreSqlLedgerStoreOptions>()
                ?? throw new InvalidOperationException("UsePostgreSqlCatalog takes the catalog from the PostgreSQL store: call UsePostgreSql(...) on the builder too.");
            UsageGuardOptions guard = services.GetRequiredService<IOptions<UsageGuardOptions>>().Value;
            ILogger logger = (services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("UsageGuard.Catalog");
            var source = new PostgreSqlCatalogSource(store, EntitlementGuard.CreditTypeScales(guard), services.GetRequiredService<TimeProvider>(), logger);
            source.Start();
            return source;
        });
        builder.Services.AddSingleton<ICatalogSource>(services => services.GetRequiredService<PostgreSqlCatalogSource>());
        CatalogSourceUsageGuardBuilderExtensions.AddOptionsPlumbing(builder.Services);
        return builder;
    }
}
