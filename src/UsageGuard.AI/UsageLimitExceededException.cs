namespace UsageGuard.AI;

/// <summary>A guarded model call was refused before it ran: no credits, a budget, a rate or concurrency limit, an open session breaker, or an entitlement.</summary>
/// <remarks>Nothing was held or charged anywhere (invariant I4). <see cref="RetryAfter"/> says when to try again, when known.</remarks>
public sealed class UsageLimitExceededException : UsageGuardException
{
    /// <summary>Initializes a new instance of the <see cref="UsageLimitExceededException"/> class.</summary>
    public UsageLimitExceededException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="UsageLimitExceededException"/> class.</summary>
    /// <param name="message">The message.</param>
    public UsageLimitExceededException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="UsageLimitExceededException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public UsageLimitExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="UsageLimitExceededException"/> class from a refused reservation.</summary>
    /// <param name="customerId">The customer the call was for.</param>
    /// <param name="refused">The reservation's result.</param>
    public UsageLimitExceededException(string customerId, in ReservationResult refused)
        : base($"The model call for customer '{customerId}' was refused ({refused.Status}): {refused.Reason ?? "no reason given"}")
    {
        CustomerId = customerId;
        Status = refused.Status;
        Scope = refused.Scope;
        RetryAfter = refused.RetryAfter;
        Budget = refused.Budget;
    }

    /// <summary>Gets the customer the call was for.</summary>
    public string? CustomerId { get; }

    /// <summary>Gets why the call was refused.</summary>
    public ReservationStatus Status { get; }

    /// <summary>Gets what refused it: <c>wallet:…</c>, <c>budget:…</c>, <c>session:…</c>, a feature id.</summary>
    public string? Scope { get; }

    /// <summary>Gets when the call may succeed (a window reset, a throttle slot, a scheduled grant), or <see langword="null"/> when unknown.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Gets the budget limit that refused, with its level of the subject tree and its window, when a budget did.</summary>
    public BudgetDenial? Budget { get; }
}
