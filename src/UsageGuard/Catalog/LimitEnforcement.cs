namespace UsageGuard;

/// <summary>What happens to a request that would pass a limit.</summary>
public enum LimitEnforcement
{
    /// <summary>Denied: a request whose amount does not fit under the limit is refused.</summary>
    Hard,

    /// <summary>Admitted, and the part above the limit is recorded as overage (bounded by an optional overage cap).</summary>
    Soft,

    /// <summary>
    /// Budgets only: past a threshold, admitted at a reduced rate (one request per throttle interval) instead of refused; above the
    /// limit the part is overage, as with <see cref="Soft"/>. Metered entitlements of the catalog are hard or soft.
    /// </summary>
    Throttled,
}
