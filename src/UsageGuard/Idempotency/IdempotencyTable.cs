using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace UsageGuard;

/// <summary>Remembers the outcome of every keyed mutation for the retention window (invariant I3: exactly once).</summary>
/// <remarks>
/// A key is claimed in memory while its operation runs, so a concurrent duplicate waits for the first outcome instead of
/// applying twice. The claim becomes durable only with the operation's own ledger batch: the record travels in the same
/// batch as the entries it guards. An operation that throws releases its claim, since bad input changes nothing.
/// </remarks>
internal sealed class IdempotencyTable
{
    private readonly ConcurrentDictionary<(string Customer, string Key), Slot> _slots = new();
    private readonly TimeSpan _retention;
    private long _claims;

    internal IdempotencyTable(TimeSpan retention) => _retention = retention;

    internal static string Fingerprint(string operation, ReadOnlySpan<string?> parts)
    {
        var text = new StringBuilder(operation);
        foreach (string? part in parts)
        {
            // Unit separator between fields and a marker for null keep "a|b" and "a", "b" apart.
            text.Append('\u001f').Append(part ?? "\u0000");
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>Claims a key, or returns the slot that already holds it.</summary>
    internal Slot? TryClaim(string customerId, string key, string fingerprint, DateTimeOffset now, out Slot claimed)
    {
        claimed = new Slot(fingerprint, now);
        Slot existing = _slots.GetOrAdd((customerId, key), claimed);
        if (ReferenceEquals(existing, claimed))
        {
            if (Interlocked.Increment(ref _claims) % 4096 == 0)
            {
                Prune(now);
            }

            return null;
        }

        if (!string.Equals(existing.Fingerprint, fingerprint, StringComparison.Ordinal))
        {
            throw Conflict(customerId, key);
        }

        return existing;
    }

    /// <summary>The error of a key used again for a different operation or payload.</summary>
    internal static IdempotencyConflictException Conflict(string customerId, string key) =>
        new(key, $"The idempotency key '{key}' was already used by customer '{customerId}' for a different operation or payload. Use a new key for a new operation.");

    internal void Abandon(string customerId, string key, Slot slot, Exception error)
    {
        _slots.TryRemove(new KeyValuePair<(string, string), Slot>((customerId, key), slot));
        slot.Fail(error);
    }

    internal void Load(IdempotencyRecord record)
    {
        var slot = new Slot(record.Fingerprint, record.CreatedAt);
        slot.Complete(IdempotencyOutcome.Decode(record.Outcome));
        _slots[(record.CustomerId, record.Key)] = slot;
    }

    private void Prune(DateTimeOffset now)
    {
        DateTimeOffset cutoff = now - _retention;
        foreach (KeyValuePair<(string Customer, string Key), Slot> pair in _slots)
        {
            if (pair.Value.CreatedAt < cutoff && pair.Value.IsCompleted)
            {
                _slots.TryRemove(pair);
            }
        }
    }

    internal sealed class Slot(string fingerprint, DateTimeOffset createdAt)
    {
        private readonly TaskCompletionSource<object> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal string Fingerprint { get; } = fingerprint;

        internal DateTimeOffset CreatedAt { get; } = createdAt;

        internal bool IsCompleted => _outcome.Task.IsCompletedSuccessfully;

        internal Task<object> Outcome => _outcome.Task;

        internal void Complete(object outcome) => _outcome.TrySetResult(outcome);

        internal void Fail(Exception error) => _outcome.TrySetException(error);
    }
}
