namespace UsageGuard;

/// <summary>Thrown when an administrative debit (a negative adjustment) exceeds the credits available.</summary>
public sealed class InsufficientCreditsException : UsageGuardException
{
    /// <summary>Initializes a new instance of the <see cref="InsufficientCreditsException"/> class.</summary>
    public InsufficientCreditsException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="InsufficientCreditsException"/> class.</summary>
    /// <param name="message">The message.</param>
    public InsufficientCreditsException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="InsufficientCreditsException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public InsufficientCreditsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal InsufficientCreditsException(string customerId, string message)
        : base(message)
    {
        CustomerId = customerId;
    }

    /// <summary>Gets the customer whose credits did not suffice.</summary>
    public string? CustomerId { get; }
}
