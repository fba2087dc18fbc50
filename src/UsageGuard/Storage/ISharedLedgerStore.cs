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

    /// <summary>
    /// Gets how long one append or read may stall before the instance abandons it and retries (an append under the same batch id,
    /// which the store applies once): a call stuck on a connection the network cut never holds the writer or the follower for good.
    /// </summary>
    TimeSpan StallTimeout { get; }

    /// <summary>
    /// Finds where batches were stored: for each of <paramref name="batchIds"/> the store committed, its first sequence number and
    /// entry count. Used for batches whose append failed without a known outcome (a commit whose answer was lost): the follower must
    /// not take their entries for another instance's.
    /// </summary>
    ValueTask<IReadOnlyList<(long First, int Count)>> FindBatchesAsync(IReadOnlyList<Guid> batchIds, CancellationToken cancellationToken = default);

    /// <summary>Gets the local directory where batches the store cannot take wait (flushed to disk), or null to keep them in memory.</summary>
    string? OutboxDirectory { get; }

    /// <summary>Gets how long a claimed key waits for its outcome before another instance may take it over (its owner stopped).</summary>
    TimeSpan KeyClaimLife { get; }

    /// <summary>
    /// Claims an idempotency key for this instance before its operation runs: won when the key is new (or unfinished and this instance's,
    /// or its claim expired); otherwise what the store holds under the key: the first operation's fingerprint and, once it committed, its outcome.
    /// </summary>
    /// <remarks>The outcome commits later, with the operation's entries (<see cref="AppendUnsequencedAsync"/>): a finished key is never claimed again.</remarks>
    ValueTask<KeyClaim> ClaimKeyAsync(string customerId, string key, string fingerprint, DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken cancellationToken = default);

    /// <summary>Releases this instance's claim on a key whose operation threw before applying anything.</summary>
    ValueTask ReleaseKeyAsync(string customerId, string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends a change every instance applies (an admin change to governance) to the store's feed, and announces it to every instance
    /// following the feed. Synchronous, like the admin calls that publish. Returns the change's sequence number.
    /// </summary>
    /// <exception cref="LedgerUnavailableException">The store cannot be reached: nothing was published.</exception>
    long PublishChange(string topic, string payload, DateTimeOffset now);

    /// <summary>Reads the feed's changes after <paramref name="after"/>, in order; at start-up, before the instance serves.</summary>
    IReadOnlyList<SharedChange> ReadChanges(long after);

    /// <summary>
    /// Follows the feed after <paramref name="after"/> until disposed: <paramref name="apply"/> gets every change once, in order (this
    /// instance's own too), within a second of its commit while the store is reachable.
    /// </summary>
    IAsyncDisposable FollowChanges(long after, Action<SharedChange> apply, ILogger logger);
}

/// <summary>A change of the store's feed.</summary>
/// <param name="Sequence">Its place in the feed: changes apply in this order on every instance.</param>
/// <param name="Topic">What it changes (<c>governance</c>).</param>
/// <param name="Payload">The change, as JSON.</param>
internal sealed record SharedChange(long Sequence, string Topic, string Payload);

/// <summary>The answer to a key claim (<see cref="ISharedLedgerStore.ClaimKeyAsync"/>).</summary>
/// <param name="Claimed">Whether this instance now holds the key and runs its operation.</param>
/// <param name="Fingerprint">The fingerprint of the operation that holds the key elsewhere; null when won, or when the key vanished meanwhile.</param>
/// <param name="Outcome">That operation's stored outcome, once it committed; null while it runs.</param>
/// <param name="ExpiresAt">When an unfinished claim elsewhere may be taken over.</param>
internal readonly record struct KeyClaim(bool Claimed, string? Fingerprint, string? Outcome, DateTimeOffset? ExpiresAt)
{
    /// <summary>Gets the answer of a won claim.</summary>
    internal static KeyClaim Won => new(true, null, null, null);
}
