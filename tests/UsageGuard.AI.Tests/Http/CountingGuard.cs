namespace UsageGuard.AI.Tests.Http;

/// <summary>Passes every call on to a real guard, counting the reservations asked for.</summary>
internal sealed class CountingGuard(IEntitlementGuard inner) : IEntitlementGuard
{
    private int _reservations;

    public int Reservations => Volatile.Read(ref _reservations);

    public UsageGuardHealth Health => inner.Health;

    public ValueTask<ReservationResult> ReserveAsync(ReservationRequest request, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _reservations);
        return inner.ReserveAsync(request, cancellationToken);
    }

    public ValueTask<SettlementResult> SettleAsync(Reservation reservation, decimal actual, CancellationToken cancellationToken = default) => inner.SettleAsync(reservation, actual, cancellationToken);

    public ValueTask<SettlementResult> SettleAsync(Reservation reservation, TokenUsage actual, CancellationToken cancellationToken = default) => inner.SettleAsync(reservation, actual, cancellationToken);

    public ValueTask<SettlementResult> SettleAsync(Reservation reservation, TokenSettlement settlement, CancellationToken cancellationToken = default) => inner.SettleAsync(reservation, settlement, cancellationToken);

    public EntitlementDecision Check(string customerId, string featureId, long requested = 0) => inner.Check(customerId, featureId, requested);

    public ValueTask ReleaseAsync(Reservation reservation, CancellationToken cancellationToken = default) => inner.ReleaseAsync(reservation, cancellationToken);

    public ValueTask<ConsumeResult> ConsumeAsync(ReservationRequest request, CancellationToken cancellationToken = default) => inner.ConsumeAsync(request, cancellationToken);
}
