namespace UsageGuard;

/// <summary>How usage events are exported to a sink (<see cref="UsageExport"/>).</summary>
public sealed class UsageExportOptions
{
    /// <summary>Gets or sets the directory that keeps each sink's cursor (a file named after the sink), written atomically after each delivered batch.</summary>
    /// <value>The default value is an empty string, which fails validation.</value>
    public string CursorDirectory { get; set; } = string.Empty;

    /// <summary>Gets or sets the most events sent in one batch.</summary>
    /// <value>The default value is 500.</value>
    public int BatchSize { get; set; } = 500;

    /// <summary>Gets or sets how long the export waits, once it has caught up with the ledger, before it looks for new events.</summary>
    /// <value>The default value is 1 second.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the wait before the first retry of a batch the sink refused; it doubles with each retry.</summary>
    /// <value>The default value is 200 milliseconds.</value>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Gets or sets the longest wait between two retries.</summary>
    /// <value>The default value is 1 minute.</value>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(CursorDirectory))
        {
            throw new ArgumentException("UsageExportOptions.CursorDirectory is required: the directory that keeps each sink's position in the ledger.", nameof(CursorDirectory));
        }

        if (BatchSize is < 1 or > 100_000)
        {
            throw new ArgumentException($"UsageExportOptions.BatchSize must be 1 to 100,000 (it is {BatchSize}).", nameof(BatchSize));
        }

        if (PollInterval <= TimeSpan.Zero || RetryDelay <= TimeSpan.Zero || MaxRetryDelay < RetryDelay)
        {
            throw new ArgumentException($"UsageExportOptions: PollInterval ({PollInterval}) and RetryDelay ({RetryDelay}) must be positive, and MaxRetryDelay ({MaxRetryDelay}) at least RetryDelay.", nameof(PollInterval));
        }
    }
}
