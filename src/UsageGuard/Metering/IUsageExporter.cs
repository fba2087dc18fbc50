namespace UsageGuard;

/// <summary>A sink that usage events are delivered to: a file, a billing system, a queue.</summary>
/// <remarks>
/// <para>Delivery is at least once: <see cref="UsageExport"/> sends a batch again, with the same events and ids, until a call returns
/// without throwing, and after a crash it sends again the batch that was in flight. A sink deduplicates by <see cref="UsageEvent.Id"/>
/// (the built-in HTTP sinks send it as the idempotency key).</para>
/// <para>One export calls one sink from one thread at a time.</para>
/// </remarks>
public interface IUsageExporter
{
    /// <summary>Gets the sink's name, which names its cursor: each sink has its own position in the ledger.</summary>
    string Name { get; }

    /// <summary>Delivers a batch of events, in ledger order.</summary>
    /// <param name="events">The events; never empty.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>A task that completes when the sink has taken every event of the batch; throw to have the whole batch sent again.</returns>
    ValueTask ExportAsync(IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken);
}
