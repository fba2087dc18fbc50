namespace UsageGuard;

/// <summary>
/// A budget: limits on what the requests that match it may use. It matches the requests of its customer made by its
/// <see cref="Subject"/> or anyone under it in the subject tree, narrowed by model, feature and tag when those are set.
/// </summary>
/// <remarks>
/// A request passes only when every limit of every budget it matches has room: the team's, the department's and the
/// organisation's, each in every window. With <see cref="PerSession"/>, each session (agent run, conversation) gets its
/// own copy of the limits, and the first request a session's limit refuses trips the session's circuit breaker.
/// </remarks>
public sealed class BudgetOptions
{
    /// <summary>Gets or sets the budget's id, unique within its customer; a denial and every report name it.</summary>
    public string Id { get; set; } = "";

    /// <summary>Gets or sets the subject node the budget caps (with everything under it), or <see langword="null"/> for the whole customer.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Subject { get; set; }

    /// <summary>Gets or sets the model the budget is limited to, or <see langword="null"/> for every model.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Model { get; set; }

    /// <summary>Gets or sets the feature the budget is limited to, or <see langword="null"/> for every feature.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Feature { get; set; }

    /// <summary>Gets or sets the tag a request must carry (<see cref="ReservationRequest.Tags"/>) to count, or <see langword="null"/> for every request.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Tag { get; set; }

    /// <summary>Gets or sets a value indicating whether every session gets its own copy of the limits (the circuit breaker for runaway agent loops); requests without a session id do not count.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool PerSession { get; set; }

    /// <summary>Gets or sets the credit type of <see cref="LimitMeasure.Credits"/> limits, or <see langword="null"/> for <see cref="UsageGuardOptions.DefaultCreditType"/>; reservations in other credit types do not count toward them.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? CreditType { get; set; }

    /// <summary>Gets the limits; at least one.</summary>
    public IList<BudgetLimitOptions> Limits { get; } = new List<BudgetLimitOptions>();
}
