using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
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
        return builder;
    }
}
