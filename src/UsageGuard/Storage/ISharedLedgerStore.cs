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
}

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
