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
}

/// <summary>What an escrow asks of the engine that owns it.</summary>
internal interface IPoolEscrowOwner
{
    /// <summary>Records that the unleased rest of a closed shared pool is removed: this instance closed the shared pool first.</summary>
    void RecordClosedRest(Wallet wallet, BlockAccount block, long units);
}
