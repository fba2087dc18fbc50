namespace UsageGuard;

/// <summary>What a budget limit counts.</summary>
public enum LimitMeasure
{
    /// <summary>Credits of the budget's credit type: the reservation's hold, corrected to what its settlement spent.</summary>
    Credits = 0,

    /// <summary>Requests: each admitted reservation counts one; a released or expired one gives it back. On a per-session budget without a window, the session's steps.</summary>
    Requests = 1,

    /// <summary>Tokens: the estimate's total at admission (at least one), corrected to the settled tokens.</summary>
    Tokens = 2,

    /// <summary>Requests in flight: a lease taken at admission and given back on settlement, release or TTL expiry. Has no window.</summary>
    InFlight = 3,
}
