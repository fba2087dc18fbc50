namespace UsageGuard;

/// <summary>Thrown when a catalog is invalid; <see cref="Errors"/> lists every problem, each naming the element it is in. Nothing of the catalog was applied.</summary>
public sealed class CatalogValidationException : UsageGuardException
{
    /// <summary>Initializes a new instance of the <see cref="CatalogValidationException"/> class.</summary>
    public CatalogValidationException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="CatalogValidationException"/> class.</summary>
    /// <param name="message">The message.</param>
    public CatalogValidationException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="CatalogValidationException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public CatalogValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal CatalogValidationException(IReadOnlyList<string> errors)
        : base($"The catalog is invalid and was not applied ({errors.Count} problem{(errors.Count == 1 ? "" : "s")}):{Environment.NewLine}- {string.Join(Environment.NewLine + "- ", errors)}")
    {
        Errors = errors;
    }

    /// <summary>Gets the problems found, each naming its element, for example <c>plans[pro].entitlements[chat]: Limit is negative (-5)</c>.</summary>
    public IReadOnlyList<string> Errors { get; } = [];
}
