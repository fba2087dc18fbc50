namespace UsageGuard;

/// <summary>One limit of one budget, validated and in units, with what a request must match for it to count.</summary>
/// <remarks>Immutable; shared by every policy compiled while the budget is unchanged only through its <see cref="StateKey"/>.</remarks>
internal sealed class CompiledLimit
{
    internal required string BudgetId { get; init; }

    internal required string? Subject { get; init; }

    internal required string? Model { get; init; }

    internal required string? Feature { get; init; }

    internal required string? Tag { get; init; }

    internal required bool PerSession { get; init; }

    /// <summary>Gets the credit type a credit limit counts; -1 for the other measures, which count requests of every type.</summary>
    internal required int CreditTypeIndex { get; init; }

    /// <summary>Gets the scale amounts of this limit are expressed in (the credit type's for credits, 0 otherwise).</summary>
    internal required int Scale { get; init; }

    internal required LimitMeasure Measure { get; init; }

    /// <summary>Gets the window, or null for a limit without one (a session's lifetime, a total, leases in flight).</summary>
    internal required UsageWindow? Window { get; init; }

    internal required LimitEnforcement Enforcement { get; init; }

    internal required long LimitUnits { get; init; }

    /// <summary>Gets the most the window admits: the limit, or the limit plus the overage cap (unbounded without one) for soft and throttled limits.</summary>
    internal required long CeilingUnits { get; init; }

    /// <summary>Gets where a throttled limit starts throttling; long.MaxValue for the others.</summary>
    internal required long ThrottleAtUnits { get; init; }

    internal required long ThrottleIntervalTicks { get; init; }

    /// <summary>Gets the alert thresholds in units, ascending; at most 32.</summary>
    internal required long[] AlertUnits { get; init; }

    /// <summary>Gets the thresholds as configured (<c>80%</c>, <c>2500</c>), parallel to <see cref="AlertUnits"/>.</summary>
    internal required string[] AlertLabels { get; init; }

    /// <summary>Gets the key of the counters this limit keeps for a customer (or a session): the budget id and the limit's position.</summary>
    internal required string StateKey { get; init; }

    /// <summary>Gets the customer's counters, or null for a per-session limit, whose counters each session keeps.</summary>
    internal required LimitState? Shared { get; init; }

    /// <summary>Gets whether a request with these attributes counts toward this limit (the subject was matched by the tree).</summary>
    internal bool Matches(in ReservationRequest request, int creditTypeIndex)
    {
        if ((CreditTypeIndex >= 0 && CreditTypeIndex != creditTypeIndex)
            || (PerSession && request.SessionId is null)
            || (Model is not null && !string.Equals(Model, request.Model, StringComparison.Ordinal))
            || (Feature is not null && !string.Equals(Feature, request.Feature, StringComparison.Ordinal)))
        {
            return false;
        }

        if (Tag is null)
        {
            return true;
        }

        if (request.Tags is { } tags)
        {
            for (int i = 0; i < tags.Count; i++)
            {
                if (string.Equals(tags[i], Tag, StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }

        return false;
    }

    internal decimal ToAmount(long units) => FixedPoint.ToDecimal(units, Scale);
}
