namespace UsageGuard;

/// <summary>The engine's side of a reservation: its holds and attribution. Pooled and reused, so a reservation allocates nothing.</summary>
/// <remarks>
/// Reuse is safe because every transition is a CAS on <c>_stamp</c>, which packs the reservation id with the status:
/// a stale handle carries an old id and can never move a newer reservation that reuses the same object.
/// </remarks>
internal sealed class ReservationState
{
    internal const int Free = 0;
    internal const int Active = 1;
    internal const int Completing = 2;
    internal const int Settled = 3;
    internal const int Released = 4;
    internal const int Expired = 5;

    private long _stamp;
    private Hold[] _holds = new Hold[2];
    private LimitHold[] _limitHolds = new LimitHold[4];

    internal ReservationState(EntitlementGuard guard) => Guard = guard;

    internal EntitlementGuard Guard { get; }

    internal long Id { get; private set; }

    internal Wallet Wallet { get; private set; } = null!;

    internal string? Subject { get; private set; }

    internal string? Feature { get; private set; }

    internal string? Model { get; private set; }

    internal string? SessionId { get; private set; }

    internal string? RequestId { get; private set; }

    internal string? IdempotencyKey { get; private set; }

    internal SettlementPolicy Policy { get; private set; }

    internal Durability Durability { get; private set; }

    internal long DeadlineTicks { get; private set; }

    /// <summary>Gets the reason its settlement's entries carry (an estimate), or null; set just before the settlement.</summary>
    internal string? SettleReason { get; set; }

    /// <summary>Gets when the reservation was admitted: the instant that places it in budget windows.</summary>
    internal long AdmittedTicks { get; private set; }

    /// <summary>Gets the request's tags, which tag budgets match (recorded with what the settlement counts toward budgets).</summary>
    internal IReadOnlyList<string>? Tags { get; private set; }

    /// <summary>
    /// Keeps a copy of the tags a budget admitted the request with: the ledger records them at settlement, hashed later on the writer's
    /// thread, and they must not change if the caller reuses its list. Only tagged requests that hold in a budget pay for the copy.
    /// </summary>
    internal void KeepTags()
    {
        if (Tags is { Count: > 0 } tags)
        {
            Tags = [.. tags];
        }
    }

    internal long HeldUnits { get; private set; }

    /// <summary>Gets the metered feature's window the reservation holds units in, or null.</summary>
    internal MeterWindow? Meter { get; private set; }

    /// <summary>Gets the units held in <see cref="Meter"/>.</summary>
    internal long MeterHeld { get; private set; }

    /// <summary>Gets whether the metered quantity is the total of the priced tokens (so a token settlement settles it too).</summary>
    internal bool QuantityFromTokens { get; private set; }

    /// <summary>Gets the catalog snapshot that entitled and priced the reservation, or null without a catalog.</summary>
    internal CatalogSnapshot? Catalog { get; private set; }

    /// <summary>Gets the rate that priced the reservation's tokens, or the default value.</summary>
    internal ResolvedRate Rate { get; private set; }

    internal int HoldCount { get; private set; }

    /// <summary>Gets the number of budget limits the reservation holds in.</summary>
    internal int LimitHoldCount { get; private set; }

    /// <summary>Gets the session whose per-session limits the reservation holds in, or null.</summary>
    internal SessionState? Session { get; set; }

    internal ref readonly LimitHold LimitHoldAt(int index) => ref _limitHolds[index];

    internal void AddLimitHold(CompiledLimit limit, LimitState counters, MeterWindow window, long units, long slotTaken, long slotPrevious)
    {
        if (LimitHoldCount == _limitHolds.Length)
        {
            Array.Resize(ref _limitHolds, _limitHolds.Length * 2);
        }

        _limitHolds[LimitHoldCount++] = new LimitHold(limit, counters, window, units, slotTaken, slotPrevious);
    }

    /// <summary>Forgets the budget holds once they are given back or settled.</summary>
    internal void ClearLimitHolds()
    {
        Array.Clear(_limitHolds, 0, LimitHoldCount);
        LimitHoldCount = 0;
        Session = null;
    }

    internal ref readonly Hold HoldAt(int index) => ref _holds[index];

    internal void Prepare(long id, Wallet wallet, in ReservationRequest request, SettlementPolicy policy, Durability durability, long admittedTicks, long deadlineTicks)
    {
        AdmittedTicks = admittedTicks;
        Tags = request.Tags;
        SettleReason = null;
        Id = id;
        Wallet = wallet;
        Subject = request.Subject;
        Feature = request.Feature;
        Model = request.Model;
        SessionId = request.SessionId;
        RequestId = request.RequestId;
        IdempotencyKey = request.IdempotencyKey;
        Policy = policy;
        Durability = durability;
        DeadlineTicks = deadlineTicks;
        HeldUnits = 0;
        HoldCount = 0;
        OfflineUnits = 0;
        Meter = null;
        MeterKey = null;
        MeterHeld = 0;
        TierWindow = null;
        QuantityFromTokens = false;
        Catalog = null;
        Rate = default;
        OverageCredits = 0;
    }

    internal void PrepareCatalog(CatalogSnapshot catalog, in ResolvedRate rate, MeterWindow? tierWindow, bool quantityFromTokens)
    {
        Catalog = catalog;
        Rate = rate;
        TierWindow = tierWindow;
        QuantityFromTokens = quantityFromTokens;
    }

    /// <summary>Gets the credits of the hold that price a soft limit's overage (kept when the tokens are settled).</summary>
    internal long OverageCredits { get; set; }

    /// <summary>Gets the meter that <see cref="Meter"/> is a window of (the feature's scope), for the usage entry.</summary>
    internal string? MeterKey { get; private set; }

    /// <summary>Gets the window of the tiered rate's token meter the reservation was priced in, or null when the rate has no tiers.</summary>
    internal MeterWindow? TierWindow { get; private set; }

    internal void HoldMeter(MeterWindow meter, string meterKey, long units)
    {
        Meter = meter;
        MeterKey = meterKey;
        MeterHeld = units;
    }

    internal void AddHold(BlockAccount block, long units)
    {
        if (HoldCount == _holds.Length)
        {
            Array.Resize(ref _holds, _holds.Length * 2);
        }

        _holds[HoldCount++] = new Hold(block, units);
        HeldUnits += units;
    }

    /// <summary>Gets what the reservation holds against the offline allowance (many instances, the store unreachable): debt when used.</summary>
    internal long OfflineUnits { get; private set; }

    internal void AddOfflineHold(long units)
    {
        OfflineUnits = units;
        HeldUnits += units;
    }

    internal void ClearHolds()
    {
        Array.Clear(_holds, 0, HoldCount);
        HoldCount = 0;
        HeldUnits = 0;
        OfflineUnits = 0;
    }

    /// <summary>Publishes the reservation; every field above is written before this.</summary>
    internal void Activate() => Volatile.Write(ref _stamp, (Id << 3) | Active);

    internal bool TryBegin(long id) => Interlocked.CompareExchange(ref _stamp, (id << 3) | Completing, (id << 3) | Active) == ((id << 3) | Active);

    internal void Finish(int status)
    {
        Volatile.Write(ref _stamp, (Id << 3) | (long)status);
        if (status == Settled)
        {
            // Every settlement passes here once its blocks are charged: what it used lowered the wallet's balance.
            Wallet.Alerts?.CheckSpent();
        }
    }

    /// <summary>Gets the status for a given id, or -1 when the object has been reused since.</summary>
    internal int StatusOf(long id)
    {
        long stamp = Volatile.Read(ref _stamp);
        return (stamp >> 3) == id ? (int)(stamp & 7) : -1;
    }

    /// <summary>Reads the stamp: id and status of whichever reservation holds the object now.</summary>
    internal long ReadStamp() => Volatile.Read(ref _stamp);

    internal readonly record struct Hold(BlockAccount Block, long Units);

    /// <summary>A hold in one budget limit's window; a throttle slot taken for it is undone with <c>SlotPrevious</c> when the request is refused elsewhere.</summary>
    internal readonly record struct LimitHold(CompiledLimit Limit, LimitState Counters, MeterWindow Window, long Units, long SlotTaken, long SlotPrevious);
}
