namespace UsageGuard;

/// <summary>Whether the guard's ledger store is taking writes, and if not since when and why.</summary>
/// <remarks>Immutable. Read it from <see cref="IEntitlementGuard.Health"/>, or register <see cref="UsageGuardHealthCheck"/>.</remarks>
public sealed class UsageGuardHealth
{
    internal UsageGuardHealth(Exception? lastError, DateTimeOffset? failingSince, int failedAttempts, bool writerStopped)
    {
        LastError = lastError;
        FailingSince = failingSince;
        FailedAttempts = failedAttempts;
        WriterStopped = writerStopped;
    }

    internal static UsageGuardHealth Healthy { get; } = new(null, null, 0, writerStopped: false);

    /// <summary>Gets a value indicating whether the last append succeeded and the writer runs.</summary>
    public bool IsHealthy => LastError is null;

    /// <summary>Gets the store's last error while it is failing, or <see langword="null"/> when healthy.</summary>
    public Exception? LastError { get; }

    /// <summary>Gets when the current run of failed appends began, or <see langword="null"/> when healthy.</summary>
    public DateTimeOffset? FailingSince { get; }

    /// <summary>Gets how many appends of the current batch have failed.</summary>
    public int FailedAttempts { get; }

    /// <summary>Gets a value indicating whether the ledger writer has stopped for good; the guard must be restarted.</summary>
    public bool WriterStopped { get; }

    /// <inheritdoc />
    public override string ToString() => IsHealthy
        ? "Healthy"
        : WriterStopped
            ? $"Ledger writer stopped: {LastError!.Message}"
            : $"Ledger store failing since {FailingSince:O} ({FailedAttempts} attempts): {LastError!.Message}";
}
