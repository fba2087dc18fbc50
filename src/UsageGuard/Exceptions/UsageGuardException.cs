namespace UsageGuard;

/// <summary>The base of the exceptions UsageGuard throws for misuse it can name; the message says what to do.</summary>
public class UsageGuardException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="UsageGuardException"/> class.</summary>
    public UsageGuardException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="UsageGuardException"/> class.</summary>
    /// <param name="message">The message.</param>
    public UsageGuardException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="UsageGuardException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public UsageGuardException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
