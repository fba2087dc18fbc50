namespace UsageGuard;

/// <summary>Thrown when an operation names a customer that has never been granted credits.</summary>
public sealed class UnknownCustomerException : UsageGuardException
{
    /// <summary>Initializes a new instance of the <see cref="UnknownCustomerException"/> class.</summary>
    public UnknownCustomerException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="UnknownCustomerException"/> class.</summary>
    /// <param name="message">The message.</param>
    public UnknownCustomerException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="UnknownCustomerException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public UnknownCustomerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal UnknownCustomerException(string customerId, string message)
        : base(message)
    {
        CustomerId = customerId;
    }

    /// <summary>Gets the customer that was not found.</summary>
    public string? CustomerId { get; }
}
