namespace UsageGuard;

/// <summary>What a customer may do with a feature right now: access, config value, limit, usage, and when the window resets.</summary>
/// <remarks>A value type built from an immutable catalog snapshot and the feature's meter; making one allocates nothing.</remarks>
public readonly struct EntitlementDecision
{
    internal EntitlementDecision(EntitlementStatus status, FeatureKind kind, EntitlementSource source, string? value, long? limit, long used, long held, DateTimeOffset? resetsAt, bool isSoftLimit, string? reason, string? catalogVersion)
    {
        Status = status;
        Kind = kind;
        Source = source;
        Value = value;
        Limit = limit;
        Used = used;
        Held = held;
        ResetsAt = resetsAt;
        IsSoftLimit = isSoftLimit;
        Reason = reason;
        CatalogVersion = catalogVersion;
    }

    /// <summary>Gets the outcome.</summary>
    public EntitlementStatus Status { get; }

    /// <summary>Gets a value indicating whether the customer may use the feature (for the amount asked for).</summary>
    public bool HasAccess => Status == EntitlementStatus.Granted;

    /// <summary>Gets the feature's kind (<see cref="FeatureKind.Boolean"/> for an unknown feature).</summary>
    public FeatureKind Kind { get; }

    /// <summary>Gets where the entitlement comes from: an override, an add-on, the plan, or <see cref="EntitlementSource.None"/>.</summary>
    public EntitlementSource Source { get; }

    /// <summary>Gets a <see cref="FeatureKind.Config"/> feature's value, as the catalog states it; <see langword="null"/> otherwise.</summary>
    public string? Value { get; }

    /// <summary>Gets a metered feature's limit for the current window (prorated in the window of a plan change), or <see langword="null"/> when unlimited or not metered.</summary>
    public long? Limit { get; }

    /// <summary>Gets the units used in the current window, settled and held together.</summary>
    public long Used { get; }

    /// <summary>Gets the part of <see cref="Used"/> that reservations hold and have not settled yet.</summary>
    public long Held { get; }

    /// <summary>Gets the units left below the limit (zero when at or over it), or <see langword="null"/> without a limit.</summary>
    public long? Remaining => Limit is long limit ? Math.Max(0, limit - Used) : null;

    /// <summary>Gets when the current window ends and usage starts again from zero, or <see langword="null"/> for a feature that is not metered.</summary>
    public DateTimeOffset? ResetsAt { get; }

    /// <summary>Gets a value indicating whether the limit is soft: use past it is admitted (up to the overage cap) and priced as overage.</summary>
    public bool IsSoftLimit { get; }

    /// <summary>Gets why access was denied, for people; <see langword="null"/> when granted.</summary>
    public string? Reason { get; }

    /// <summary>Gets the version of the catalog that decided: the first 16 hex digits of its content hash, as recorded on settlements.</summary>
    public string? CatalogVersion { get; }
}
