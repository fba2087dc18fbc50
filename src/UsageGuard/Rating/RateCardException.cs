namespace UsageGuard;

/// <summary>Thrown when a list of <see cref="ModelRate"/> cannot become a <see cref="RateCard"/>; the message lists every problem found.</summary>
public sealed class RateCardException : UsageGuardException
{
    /// <summary>Initializes a new instance of the <see cref="RateCardException"/> class.</summary>
    public RateCardException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RateCardException"/> class.</summary>
    /// <param name="message">The message.</param>
    public RateCardException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RateCardException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public RateCardException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal RateCardException(IReadOnlyList<string> problems)
        : base(Describe(problems))
    {
        Problems = problems;
    }

    /// <summary>Gets the problems found, one a line of the message, each naming the rate it is about.</summary>
    public IReadOnlyList<string> Problems { get; } = [];

    private static string Describe(IReadOnlyList<string> problems) =>
        $"The rate card is invalid ({problems.Count} problem{(problems.Count == 1 ? string.Empty : "s")}); fix the model rates:{Environment.NewLine}  "
        + string.Join(Environment.NewLine + "  ", problems);
}
