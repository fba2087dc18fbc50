using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using UsageGuard.Sqlite;

namespace UsageGuard;

/// <summary>Plugs the SQLite ledger store into a guard.</summary>
public static class SqliteUsageGuardBuilderExtensions
{
    /// <summary>Keeps the ledger in a SQLite file: the durable store for one process.</summary>
    /// <param name="builder">The builder returned by <see cref="UsageGuardServiceCollectionExtensions.AddUsageGuard"/>.</param>
    /// <param name="connectionStringOrPath">A SQLite connection string (it contains <c>=</c>, e.g. <c>Data Source=ledger.db</c>) or a file path.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="connectionStringOrPath"/> is null, empty or white space.</exception>
    public static IUsageGuardBuilder UseSqlite(this IUsageGuardBuilder builder, string connectionStringOrPath)
    {
        string connectionString = SqliteLedgerStore.ToConnectionString(connectionStringOrPath);
        return builder.UseSqlite(o => o.ConnectionString = connectionString);
    }

    /// <summary>Keeps the ledger in a SQLite file, configured in full.</summary>
    /// <param name="builder">The builder returned by <see cref="UsageGuardServiceCollectionExtensions.AddUsageGuard"/>.</param>
    /// <param name="configure">Sets the store's options.</param>
    /// <returns>The same builder.</returns>
    /// <remarks>The file is opened and checked when the guard starts; a damaged file stops the start with <see cref="LedgerCorruptedException"/>.</remarks>
    public static IUsageGuardBuilder UseSqlite(this IUsageGuardBuilder builder, Action<SqliteLedgerStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new SqliteLedgerStoreOptions();
        configure(options);
        options.Validate();
        builder.Services.Replace(ServiceDescriptor.Singleton<ILedgerStore>(_ => new SqliteLedgerStore(options)));
        return builder;
    }
}
