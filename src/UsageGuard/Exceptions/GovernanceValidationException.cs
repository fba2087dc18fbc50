namespace UsageGuard;

/// <summary>Thrown when governance (a subject tree or a budget) is invalid; <see cref="Errors"/> lists every problem, each naming the element it is in. Nothing of it was applied: the policy in force is unchanged.</summary>
public sealed class GovernanceValidationException : UsageGuardException
{
    /// <summary>Initializes a new instance of the <see cref="GovernanceValidationException"/> class.</summary>
    public GovernanceValidationException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="GovernanceValidationException"/> class.</summary>
    /// <param name="message">The message.</param>
    public GovernanceValidationException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="GovernanceValidationException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public GovernanceValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal GovernanceValidationException(IReadOnlyList<string> errors)
        : base($"The governance change is invalid and was not applied ({errors.Count} problem{(errors.Count == 1 ? "" : "s")}):{Environment.NewLine}- {string.Join(Environment.NewLine + "- ", errors)}")
    {
        Errors = errors;
    }

    /// <summary>Gets the problems found, each naming its element, for example <c>customers[acme].budgets[team].limits[0]: Amount must be positive (0)</c>.</summary>
    public IReadOnlyList<string> Errors { get; } = [];
}
