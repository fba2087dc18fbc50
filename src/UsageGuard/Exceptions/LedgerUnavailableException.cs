namespace UsageGuard;

/// <summary>Thrown when the ledger store cannot take writes (disk full, read-only file, database locked by another process, I/O error).</summary>
/// <remarks>
/// <para>Stores throw it from <see cref="ILedgerStore.AppendAsync"/>; the ledger writer keeps the batch and retries it, and
/// <see cref="IEntitlementGuard.Health"/> reports the store as failing until an append succeeds.</para>
/// <para>Under <see cref="StoreFailurePolicy.FailClosed"/> (the default) the guard throws it from grants, voids and adjustments
/// while the store is failing; reservations and consumes are denied with <see cref="ReservationStatus.StoreUnavailable"/>.</para>
/// </remarks>
public sealed class LedgerUnavailableException : UsageGuardException
{
    /// <summary>Initializes a new instance of the <see cref="LedgerUnavailableException"/> class.</summary>
    public LedgerUnavailableException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LedgerUnavailableException"/> class with a message.</summary>
    /// <param name="message">What failed and what to do.</param>
    public LedgerUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LedgerUnavailableException"/> class with a message and the store's error.</summary>
    /// <param name="message">What failed and what to do.</param>
    /// <param name="innerException">The store's own error.</param>
    public LedgerUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
