using Npgsql;

namespace UsageGuard.PostgreSql;

/// <summary>Where and how <see cref="PostgreSqlLedgerStore"/> keeps the ledger.</summary>
public sealed class PostgreSqlLedgerStoreOptions
{
    /// <summary>Gets or sets the Npgsql connection string, for example <c>Host=db;Database=app;Username=usageguard;Password=…</c>.</summary>
    /// <value>The default value is <see langword="null"/>; set it or <see cref="DataSource"/>.</value>
    public string? ConnectionString { get; set; }

    /// <summary>Gets or sets a data source the host already built (pooling, authentication and logging as the host configured them); wins over <see cref="ConnectionString"/>.</summary>
    /// <value>The default value is <see langword="null"/>. The store does not dispose a data source it was given.</value>
    public NpgsqlDataSource? DataSource { get; set; }

    /// <summary>Gets or sets the schema the store's tables live in; created when missing.</summary>
    /// <value>The default value is <c>usageguard</c>.</value>
    public string Schema { get; set; } = "usageguard";

    /// <summary>Gets or sets how many snapshots are kept (older ones are deleted when a new one is saved).</summary>
    /// <value>The default value is 3.</value>
    public int SnapshotsToKeep { get; set; } = 3;

    /// <summary>
    /// Gets or sets whether many application instances write to this store at once. Each then spends credit blocks from leases,
    /// the store numbers and chains every instance's entries into one ledger, and each instance follows the others' entries
    /// (docs/scale-out.md). When false, the store serves one writing instance and refuses a second.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool ManyInstances { get; set; }

    /// <summary>
    /// Gets or sets how long one ledger append or read may stall before it is abandoned (many instances). The instance then retries
    /// it (an append under the same batch id, so nothing is applied twice), and the server ends an append transaction whose client
    /// has gone silent this long, so a stalled instance never holds the ledger's append lock longer. A connection the network cut
    /// without a reset otherwise waits for the operating system's TCP time-outs, minutes or hours.
    /// </summary>
    /// <value>The default value is 30 seconds. It must be at least one second.</value>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets a local directory where this instance keeps the ledger batches the store cannot take while it is unreachable
    /// (many instances). A batch is written there, flushed to disk, before it is acknowledged; the batches are appended to the store,
    /// in order, once it is back, and at the next start if the process stopped first (docs/scale-out.md, outages). Give every
    /// instance its own directory on a local disk that survives a restart.
    /// </summary>
    /// <value>
    /// The default value is <see langword="null"/>: batches wait in memory and are lost if the process stops before the store returns.
    /// </value>
    public string? OutboxDirectory { get; set; }

    /// <summary>
    /// Gets or sets whether the store only reads: it opens an existing schema of this release without creating or migrating it, and
    /// refuses appends, snapshots and pruning (<see cref="NotSupportedException"/>). For tools that inspect a ledger the application
    /// writes, such as the admin CLI; spend queries still keep their rollup table, which is derived data.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool ReadOnly { get; set; }

    /// <summary>Gets how leases are sized and kept when <see cref="ManyInstances"/> is true.</summary>
    public PoolLeaseOptions Leases { get; } = new();

    /// <summary>Validates the options.</summary>
    /// <exception cref="ArgumentException">Neither a connection string nor a data source is set, or the schema is not a plain identifier.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="SnapshotsToKeep"/> is not positive, or <see cref="StallTimeout"/> is shorter than a second.</exception>
    internal void Validate()
    {
        if (DataSource is null && string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException("PostgreSqlLedgerStoreOptions needs a ConnectionString (e.g. 'Host=localhost;Database=app;Username=app') or a DataSource.", nameof(ConnectionString));
        }

        if (string.IsNullOrEmpty(Schema) || Schema.Length > 63 || !(char.IsAsciiLetterLower(Schema[0]) || Schema[0] == '_') || !Schema.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
        {
            throw new ArgumentException($"PostgreSqlLedgerStoreOptions.Schema '{Schema}' must be a plain lower-case identifier (letters, digits and '_', starting with a letter or '_', at most 63 characters).", nameof(Schema));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(SnapshotsToKeep, nameof(SnapshotsToKeep));
        if (StallTimeout < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(StallTimeout), StallTimeout, "PostgreSqlLedgerStoreOptions.StallTimeout must be at least one second.");
        }
        Leases.Validate();
    }
}
