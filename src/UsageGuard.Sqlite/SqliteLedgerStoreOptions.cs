namespace UsageGuard.Sqlite;

/// <summary>Options of the SQLite ledger store.</summary>
public sealed class SqliteLedgerStoreOptions
{
    /// <summary>Gets or sets the SQLite connection string (for example <c>Data Source=usageguard.db</c>).</summary>
    /// <value>The default value is <c>Data Source=usageguard.db</c>: a file in the working directory.</value>
    public string ConnectionString { get; set; } = "Data Source=" + SqliteLedgerStore.DefaultFileName;

    /// <summary>Gets or sets how long a write waits for a lock held by another connection before the append fails.</summary>
    /// <value>The default value is 5 seconds.</value>
    /// <remarks>A failed append is retried by the ledger writer; the guard reports the store as failing meanwhile.</remarks>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets the page cache of the writing connection, in KiB.</summary>
    /// <value>The default value is 65,536 (64 MiB): enough to keep the hot parts of the indexes in memory.</value>
    public int CacheSizeKiB { get; set; } = 64 * 1024;

    /// <summary>Gets or sets the largest the database file may grow, in bytes, or <see langword="null"/> for no limit.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    /// <remarks>Past it an append fails as it would on a full disk (SQLite's <c>max_page_count</c>).</remarks>
    public long? MaxDatabaseBytes { get; set; }

    /// <summary>Gets or sets how many snapshots to keep; older ones are deleted when a new one is saved.</summary>
    /// <value>The default value is 2.</value>
    public int SnapshotsToKeep { get; set; } = 2;

    /// <summary>Gets or sets how many entries the indexer lets wait, under load, before it adds them to the customer index in one step.</summary>
    /// <remarks>Internal: tests make it small so that both the indexed part and the unindexed tail of a query are exercised.</remarks>
    internal int IndexEvery { get; set; } = 8192;

    /// <summary>Gets or sets how many committed entries the writer holds for the indexer before it drops them and lets the indexer read them back.</summary>
    /// <remarks>Internal: tests make it small to exercise the read-back path.</remarks>
    internal int IndexHandOverLimit { get; set; } = 262_144;

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException("SqliteLedgerStoreOptions.ConnectionString is required, e.g. 'Data Source=usageguard.db'.", nameof(ConnectionString));
        }

        if (BusyTimeout < TimeSpan.Zero || BusyTimeout > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentOutOfRangeException(nameof(BusyTimeout), BusyTimeout, "SqliteLedgerStoreOptions.BusyTimeout must be between 0 and 10 minutes.");
        }

        if (CacheSizeKiB < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(CacheSizeKiB), CacheSizeKiB, "SqliteLedgerStoreOptions.CacheSizeKiB may not be negative.");
        }

        if (MaxDatabaseBytes is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDatabaseBytes), MaxDatabaseBytes, "SqliteLedgerStoreOptions.MaxDatabaseBytes must be positive, or null for no limit.");
        }

        if (SnapshotsToKeep < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(SnapshotsToKeep), SnapshotsToKeep, "SqliteLedgerStoreOptions.SnapshotsToKeep must be at least 1.");
        }
    }
}
