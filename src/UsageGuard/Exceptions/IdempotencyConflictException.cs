namespace UsageGuard;

/// <summary>Thrown when an idempotency key is reused with a different operation or payload.</summary>
public sealed class IdempotencyConflictException : UsageGuardException
{
    /// <summary>Initializes a new instance of the <see cref="IdempotencyConflictException"/> class.</summary>
    public IdempotencyConflictException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="IdempotencyConflictException"/> class.</summary>
    /// <param name="message">The message.</param>
    public IdempotencyConflictException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="IdempotencyConflictException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public IdempotencyConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal IdempotencyConflictException(string idempotencyKey, string message)
        : base(message)
    {
        IdempotencyKey = idempotencyKey;
    }

    /// <summary>Gets the idempotency key that was reused.</summary>
    public string? IdempotencyKey { get; }
}
