using Microsoft.Extensions.Logging;

namespace UsageGuard;

/// <summary>
/// A store that many instances write to at once (docs/scale-out.md): it numbers, balances and chains the batches they send, and
/// gives each instance leases on the pools of capacity they share.
/// </summary>
/// <remarks>The engine switches to its many-instance mode when the store implements this and <see cref="ManyInstances"/> is true.</remarks>
internal interface ISharedLedgerStore
{
    /// <summary>Gets whether the store is configured for many writing instances.</summary>
    bool ManyInstances { get; }

    /// <summary>
    /// Appends entries no writer has numbered, with their idempotency records, in one transaction. A batch id the store already
    /// committed applies nothing again (a commit whose outcome was lost is sent again under the same id).
    /// </summary>
    /// <returns>The sequence number the store gave the first entry; the others follow it without a gap.</returns>
    ValueTask<long> AppendUnsequencedAsync(Guid batchId, ReadOnlyMemory<LedgerEntry> entries, IReadOnlyList<IdempotencyRecord> records, CancellationToken cancellationToken = default);

    /// <summary>Creates this instance's escrow on the shared pools.</summary>
    IPoolEscrow CreateEscrow(IPoolEscrowOwner owner, TimeProvider time, ILogger logger);
}
