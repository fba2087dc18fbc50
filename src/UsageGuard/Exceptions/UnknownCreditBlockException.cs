namespace UsageGuard;

/// <summary>Thrown when an operation names a credit block the customer does not have.</summary>
public sealed class UnknownCreditBlockException : UsageGuardException
{
    /// <summary>Initializes a new instance of the <see cref="UnknownCreditBlockException"/> class.</summary>
    public UnknownCreditBlockException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="UnknownCreditBlockException"/> class.</summary>
    /// <param name="message">The message.</param>
    public UnknownCreditBlockException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="UnknownCreditBlockException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public UnknownCreditBlockException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal UnknownCreditBlockException(Guid blockId, string message)
        : base(message)
    {
        BlockId = blockId;
    }

    /// <summary>Gets the block that was not found.</summary>
    public Guid? BlockId { get; }
}
