using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Npgsql;

namespace UsageGuard.PostgreSql;

/// <summary>
/// The catalog kept in the PostgreSQL store, for many instances: <see cref="PublishAsync"/> validates a catalog and appends it to
/// the store's change feed, and every instance that takes its catalog from here swaps it in within a second (<c>LISTEN/NOTIFY</c>).
/// </summary>
/// <remarks>
/// <para>Register it with <see cref="PostgreSqlUsageGuardBuilderExtensions.UsePostgreSqlCatalog"/>; resolve it to publish. The newest
/// published catalog serves from the start (read when the source is first resolved); until one is published, the statically
/// configured catalog applies. A catalog that is invalid for this instance's credit types is logged and skipped here.</para>
/// <para>While the store cannot be reached the last catalog keeps serving, and the source catches up when it can. Thread-safe.</para>
/// </remarks>
public sealed partial class PostgreSqlCatalogSource : ICatalogSource, IAsyncDisposable
{
    /// <summary>The topic of catalogs on the store's change feed.</summary>
    internal const string Topic = "catalog";

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly string _schema;
    private readonly IReadOnlyDictionary<string, int> _scales;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private CatalogOptions? _current;
    private string? _currentHash;
    private CancellationTokenSource _changes = new();
    private ChangeFeed? _feed;
    private bool _disposed;

    internal PostgreSqlCatalogSource(PostgreSqlLedgerStoreOptions options, IReadOnlyDictionary<string, int> creditTypeScales, TimeProvider time, ILogger logger)
    {
        _ownsDataSource = options.DataSource is null;
        _dataSource = options.DataSource ?? NpgsqlDataSource.Create(options.ConnectionString!);
        _schema = options.Schema;
        _scales = creditTypeScales;
        _time = time;
        _logger = logger;
    }

    /// <inheritdoc/>
    public CatalogOptions? Current => Volatile.Read(ref _current);

    /// <inheritdoc/>
    public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _changes).Token);

    /// <summary>Publishes a catalog to every instance that takes its catalog from this store.</summary>
    /// <param name="catalog">The catalog; validated here first, against this instance's credit types.</param>
    /// <param name="cancellationToken">Cancels publishing before it starts.</param>
    /// <returns>The catalog's place in the store's change feed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="catalog"/> is <see langword="null"/>.</exception>
    /// <exception cref="CatalogValidationException">The catalog is invalid: nothing is published. The errors name each problem.</exception>
    /// <exception cref="LedgerUnavailableException">The store cannot be reached: nothing is published.</exception>
    public Task<long> PublishAsync(CatalogOptions catalog, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        CatalogCompiler.Compile(catalog, _scales, version: 1);
        string document = JsonSerializer.Serialize(catalog, CatalogJson.Default.CatalogOptions);
        return Task.Run(
            () =>
            {
                try
                {
                    EnsureTable();
                    return ChangeFeed.Publish(_dataSource, _schema, Topic, document, _time.GetUtcNow());
                }
                catch (NpgsqlException ex)
                {
                    throw new LedgerUnavailableException($"The PostgreSQL store (schema '{_schema}') cannot be reached to publish the catalog: {ex.Message}. Nothing was published.", ex);
                }
            },
            cancellationToken);
    }

    /// <summary>Reads the newest published catalog and starts following the feed; later calls do nothing.</summary>
    internal void Start()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_feed is not null)
            {
                return;
            }

            long after = 0;
            try
            {
                EnsureTable();
                using NpgsqlConnection connection = _dataSource.OpenConnection();
                using var newest = new NpgsqlCommand($"SELECT seq, payload FROM {_schema}.ug_changes WHERE topic = $1 ORDER BY seq DESC LIMIT 1;", connection);
                newest.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Topic });
                using NpgsqlDataReader reader = newest.ExecuteReader();
                if (reader.Read())
                {
                    after = reader.GetInt64(0);
                    Accept(new SharedChange(after, Topic, reader.GetString(1)));
                }
            }
            catch (NpgsqlException ex)
            {
                // The feed catches up from the start once the store answers; until then the static catalog serves.
                LogStartFailed(_logger, ex);
            }

            _feed = ChangeFeed.Follow(_dataSource, _schema, after, Accept, _logger);
        }
    }

    /// <summary>Stops following the feed; a data source the source created is disposed.</summary>
    /// <returns>A task that completes when the source stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        ChangeFeed? feed;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            feed = _feed;
        }

        if (feed is not null)
        {
            await feed.DisposeAsync().ConfigureAwait(false);
        }

        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }

        _changes.Dispose();
    }

    private void EnsureTable()
    {
        using NpgsqlCommand command = _dataSource.CreateCommand($"""
            SELECT pg_advisory_lock(hashtext('usageguard.changes.table.{_schema}'));
            CREATE SCHEMA IF NOT EXISTS {_schema};
            {ChangeFeed.Table(_schema)}
            SELECT pg_advisory_unlock(hashtext('usageguard.changes.table.{_schema}'));
            """);
        command.ExecuteNonQuery();
    }

    /// <summary>Takes a catalog from the feed when it is valid here and differs from the one serving; other topics pass by.</summary>
    private void Accept(SharedChange change)
    {
        if (change.Topic != Topic)
        {
            return;
        }

        CatalogOptions? catalog;
        CatalogSnapshot snapshot;
        try
        {
            catalog = JsonSerializer.Deserialize(change.Payload, CatalogJson.Default.CatalogOptions);
            if (catalog is null)
            {
                LogRejected(_logger, change.Sequence, "the document is null");
                return;
            }

            snapshot = CatalogCompiler.Compile(catalog, _scales, version: 1);
        }
        catch (Exception ex) when (ex is JsonException or CatalogValidationException)
        {
            LogRejected(_logger, change.Sequence, ex is CatalogValidationException invalid ? string.Join("; ", invalid.Errors) : ex.Message);
            return;
        }

        if (snapshot.ContentHash == _currentHash)
        {
            return;
        }

        _currentHash = snapshot.ContentHash;
        Volatile.Write(ref _current, catalog);
        LogAccepted(_logger, change.Sequence, catalog.Revision, snapshot.ContentHash);

        // The new token is in place before the old one fires, so a listener that asks for the next token at once gets it.
        CancellationTokenSource fired = Interlocked.Exchange(ref _changes, new CancellationTokenSource());
        fired.Cancel();
        fired.Dispose();
    }

    [LoggerMessage(EventId = 160, Level = LogLevel.Information, Message = "Catalog {Sequence} from the store (revision {Revision}, content {ContentHash}) replaces the catalog.")]
    private static partial void LogAccepted(ILogger logger, long sequence, string? revision, string contentHash);

    [LoggerMessage(EventId = 161, Level = LogLevel.Error, Message = "Catalog {Sequence} from the store is not valid here and is skipped; the catalog in force keeps serving: {Problems}")]
    private static partial void LogRejected(ILogger logger, long sequence, string problems);

    [LoggerMessage(EventId = 162, Level = LogLevel.Warning, Message = "Reading the published catalog failed; the configured catalog serves until the store answers.")]
    private static partial void LogStartFailed(ILogger logger, Exception exception);
}
