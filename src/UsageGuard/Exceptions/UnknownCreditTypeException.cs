namespace UsageGuard;

/// <summary>Thrown when an operation names a credit type that is not configured.</summary>
public sealed class UnknownCreditTypeException : UsageGuardException
{
    /// <summary>Initializes a new instance of the <see cref="UnknownCreditTypeException"/> class.</summary>
    public UnknownCreditTypeException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="UnknownCreditTypeException"/> class.</summary>
    /// <param name="message">The message.</param>
    public UnknownCreditTypeException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="UnknownCreditTypeException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public UnknownCreditTypeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal UnknownCreditTypeException(string creditType, string message)
        : base(message)
    {
        CreditType = creditType;
    }

    /// <summary>Gets the credit type code that was not found.</summary>
    public string? CreditType { get; }
}
