namespace UsageGuard;

/// <summary>What a settlement charged and released.</summary>
/// <remarks>
/// <see cref="Actual"/> = <see cref="Charged"/> + <see cref="Overdrawn"/> + <see cref="Overage"/> + <see cref="Waived"/>, and
/// <see cref="Held"/> = the part of <see cref="Charged"/> taken from the hold + <see cref="Released"/>.
/// </remarks>
public readonly struct SettlementResult
{
    internal SettlementResult(long reservationId, CreditAmount held, CreditAmount actual, CreditAmount charged, CreditAmount released, CreditAmount overdrawn, CreditAmount overage, CreditAmount waived, bool replayed, string? catalogVersion = null)
    {
        CatalogVersion = catalogVersion;
        ReservationId = reservationId;
        Held = held;
        Actual = actual;
        Charged = charged;
        Released = released;
        Overdrawn = overdrawn;
        Overage = overage;
        Waived = waived;
        Replayed = replayed;
    }

    /// <summary>Gets the version of the catalog that entitled and priced the request (the first 16 hex digits of its content hash), or <see langword="null"/> without a catalog or on a replay from the store.</summary>
    public string? CatalogVersion { get; }

    /// <summary>Gets the reservation that was settled.</summary>
    public long ReservationId { get; }

    /// <summary>Gets the amount that was held.</summary>
    public CreditAmount Held { get; }

    /// <summary>Gets the actual cost given.</summary>
    public CreditAmount Actual { get; }

    /// <summary>Gets what was taken from credit blocks.</summary>
    public CreditAmount Charged { get; }

    /// <summary>Gets the part of the hold given back.</summary>
    public CreditAmount Released { get; }

    /// <summary>Gets what was taken as debt (<see cref="SettlementPolicy.Overdraft"/>).</summary>
    public CreditAmount Overdrawn { get; }

    /// <summary>Gets what was recorded as overage for billing, not charged to the wallet.</summary>
    public CreditAmount Overage { get; }

    /// <summary>Gets what was neither charged nor recorded (<see cref="SettlementPolicy.Cap"/>).</summary>
    public CreditAmount Waived { get; }

    /// <summary>Gets a value indicating whether this is the remembered outcome of an earlier call with the same idempotency key.</summary>
    public bool Replayed { get; }
}
