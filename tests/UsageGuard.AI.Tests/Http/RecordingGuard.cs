namespace UsageGuard.AI.Tests.Http;

/// <summary>A guard that admits nothing and records the settlements and releases it is asked for, for tests of a call's end.</summary>
internal sealed class RecordingGuard : IEntitlementGuard
{
    public List<TokenSettlement> Settlements { get; } = [];

    public int Releases { get; private set; }

    public UsageGuardHealth Health => throw new NotSupportedException();

    public ValueTask<ReservationResult> ReserveAsync(ReservationRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public ValueTask<SettlementResult> SettleAsync(Reservation reservation, decimal actual, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public ValueTask<SettlementResult> SettleAsync(Reservation reservation, TokenUsage actual, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public ValueTask<SettlementResult> SettleAsync(Reservation reservation, TokenSettlement settlement, CancellationToken cancellationToken = default)
    {
        Settlements.Add(settlement);
        return default;
    }

    public EntitlementDecision Check(string customerId, string featureId, long requested = 0) => throw new NotSupportedException();

    public ValueTask ReleaseAsync(Reservation reservation, CancellationToken cancellationToken = default)
    {
        Releases++;
        return default;
    }

    public ValueTask<ConsumeResult> ConsumeAsync(ReservationRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();
}
