namespace UsageGuard;

/// <summary>A node of a customer's subject tree: an organisation unit, team, user or agent, and the node it belongs to.</summary>
public sealed class SubjectOptions
{
    /// <summary>Gets or sets the node's id, unique within the customer, for example <c>search</c> or <c>agent:researcher</c>; it may not contain <c>/</c>.</summary>
    public string Id { get; set; } = "";

    /// <summary>Gets or sets the parent node's id, or <see langword="null"/> (or empty) for a top-level node.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Parent { get; set; }
}
