namespace UsageGuard.AI;

/// <summary>Who a model call is for and what it belongs to: the customer that pays, the subject inside it, the session, the feature and tags.</summary>
/// <remarks>
/// Resolved per call by <see cref="UsageGuardChatClient"/>, field by field, from the call's <c>ChatOptions.AdditionalProperties</c>
/// (<see cref="UsageProperties"/>), then the ambient <see cref="UsageScope"/>, then <see cref="UsageGuardChatClientOptions.ContextResolver"/>.
/// A struct, so resolving it allocates nothing.
/// </remarks>
public readonly record struct UsageContext
{
    /// <summary>Gets the customer (tenant) whose credits and budgets pay for the call; required.</summary>
    public string? CustomerId { get; init; }

    /// <summary>Gets the subject inside the customer: a node of its subject tree, or a path such as <c>eng/search/agent:researcher</c>.</summary>
    public string? Subject { get; init; }

    /// <summary>Gets the agent run or conversation, which per-session budgets (circuit breakers) count.</summary>
    public string? SessionId { get; init; }

    /// <summary>Gets the feature the call meters or is gated by, when any.</summary>
    public string? Feature { get; init; }

    /// <summary>Gets the tags, which tag budgets match.</summary>
    public IReadOnlyList<string>? Tags { get; init; }

    /// <summary>Gets the host's request id, recorded on the ledger entries.</summary>
    public string? RequestId { get; init; }

    /// <summary>The reservation of one guarded model call for this context: its estimate priced for <paramref name="model"/>.</summary>
    internal ReservationRequest Reserve(string customerId, string model, in TokenUsage estimate, TimeSpan? ttl, SettlementPolicy? overrunPolicy, Durability? durability) => new()
    {
        CustomerId = customerId,
        Subject = Subject,
        SessionId = SessionId,
        Feature = Feature,
        Tags = Tags,
        RequestId = RequestId,
        Model = model,
        Tokens = estimate,
        Ttl = ttl,
        OverrunPolicy = overrunPolicy,
        Durability = durability,
    };

    /// <summary>Fills each field this context leaves empty from <paramref name="fallback"/>.</summary>
    /// <param name="fallback">The context to take missing fields from.</param>
    /// <returns>The merged context.</returns>
    public UsageContext Or(in UsageContext fallback) => new()
    {
        CustomerId = CustomerId ?? fallback.CustomerId,
        Subject = Subject ?? fallback.Subject,
        SessionId = SessionId ?? fallback.SessionId,
        Feature = Feature ?? fallback.Feature,
        Tags = Tags ?? fallback.Tags,
        RequestId = RequestId ?? fallback.RequestId,
    };
}
