namespace UsageGuard;

/// <summary>What happens to a request that would pass a metered limit.</summary>
public enum LimitEnforcement
{
    /// <summary>Denied: a request whose amount does not fit under the limit is refused.</summary>
    Hard,

    /// <summary>Admitted, and the part above the limit is recorded as overage (bounded by an optional overage cap).</summary>
    Soft,
}
