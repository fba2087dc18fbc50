namespace UsageGuard;

/// <summary>
/// One instance's leases on the shared pools (credit blocks) of many instances: the local pool's <c>available</c> is what its
/// lease holds, topped up in the background before it runs dry, and directly (exactly what a request needs) near exhaustion.
/// </summary>
internal interface IPoolEscrow : IAsyncDisposable
{
    /// <summary>Puts a block in leased mode and starts tracking it; before the block is shared (at start-up or when added).</summary>
    void Track(Wallet wallet, BlockAccount block);

    /// <summary>A tracked block closed (expired or voided) here: its lease goes back and the shared pool closes.</summary>
    void Closed(Wallet wallet, BlockAccount block);

    /// <summary>
    /// Brings <paramref name="units"/> into the wallet's spendable blocks that can pay for <paramref name="feature"/>, in burn order:
    /// a slice where the pool has one, else exactly what is missing (direct). Returns false when the pools cannot cover it.
    /// </summary>
    ValueTask<bool> TopUpAsync(Wallet wallet, long units, string? feature, CancellationToken cancellationToken);

    /// <summary>
    /// Brings at least <see cref="LeaseShortfall.Missing"/> units into this instance's lease on a budget window (tracking the window from
    /// its first top-up): a slice where the pool has one, else exactly what is missing. Returns false when the pool cannot cover it.
    /// </summary>
    ValueTask<bool> TopUpWindowAsync(LeaseShortfall shortfall, CancellationToken cancellationToken);

    /// <summary>
    /// Gets until when every lease this instance holds is its own for sure: the earliest expiry the store last granted it. While the
    /// store cannot be reached, the instance keeps admitting from its leases until then (a lease is swept only after its expiry plus
    /// a grace), and refuses after.
    /// </summary>
    DateTimeOffset SpendableUntil { get; }

    /// <summary>
    /// Gets the number of the current (or last) outage: it grows when a statement fails after the store was reached. An offline
    /// allowance is whole again in each outage.
    /// </summary>
    long Outage { get; }
}

/// <summary>A budget window whose lease here could not hold a request while the limit itself had room.</summary>
/// <param name="Window">The window (leased).</param>
/// <param name="Pool">The window's shared pool: the same name on every instance.</param>
/// <param name="Capacity">The limit's ceiling in force: the pool's capacity.</param>
/// <param name="Missing">What the request needs to hold.</param>
/// <param name="CountsUse">Whether what the window admits is used for good (credits, tokens, requests), or given back when it settles (in flight).</param>
internal sealed record LeaseShortfall(MeterWindow Window, string Pool, long Capacity, long Missing, bool CountsUse);

/// <summary>A local counter that spends what this instance's lease on a shared pool holds: a credit block, or a budget window.</summary>
internal interface ILeasedCell
{
    /// <summary>Gets what the lease holds here and nothing here took yet (negative after an overrun, until a top-up).</summary>
    long Available { get; }

    /// <summary>Gets what this instance took from its leases on the pool: what it used and holds.</summary>
    long Committed { get; }

    /// <summary>Gets whether the pool closed here (a block that expired or was voided).</summary>
    bool IsClosed { get; }

    /// <summary>Adds what a lease granted; false (nothing added) when the cell closed.</summary>
    bool AddLeased(long units);

    /// <summary>Takes back every unit of the lease that nothing here took (to give it back); 0 when none.</summary>
    long TakeLeased();
}

/// <summary>What an escrow asks of the engine that owns it.</summary>
internal interface IPoolEscrowOwner
{
    /// <summary>Records that the unleased rest of a closed shared pool is removed: this instance closed the shared pool first.</summary>
    void RecordClosedRest(Wallet wallet, BlockAccount block, long units);
}
