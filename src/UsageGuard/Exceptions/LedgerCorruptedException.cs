namespace UsageGuard;

/// <summary>Thrown when a ledger store's contents are damaged: a broken hash chain, missing committed entries, a damaged snapshot or database file.</summary>
/// <remarks>
/// The guard refuses to start on a damaged store rather than serve wrong balances. Restore the store from a backup,
/// then run <see cref="ICreditLedger.VerifyAsync"/>.
/// </remarks>
public sealed class LedgerCorruptedException : UsageGuardException
{
    /// <summary>Initializes a new instance of the <see cref="LedgerCorruptedException"/> class.</summary>
    public LedgerCorruptedException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LedgerCorruptedException"/> class with a message.</summary>
    /// <param name="message">What is damaged and what to do.</param>
    public LedgerCorruptedException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LedgerCorruptedException"/> class with a message and the error that revealed the damage.</summary>
    /// <param name="message">What is damaged and what to do.</param>
    /// <param name="innerException">The store's own error.</param>
    public LedgerCorruptedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
