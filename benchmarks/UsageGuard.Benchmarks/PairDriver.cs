using System.Runtime.CompilerServices;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;

namespace UsageGuard.Benchmarks;

/// <summary>
/// Runs one reserve+settle or reserve+release pair synchronously, the way the pair benchmarks measure it. A call that did not complete
/// synchronously (never expected with WriteBehind) is waited for by blocking, and counted in <see cref="SlowPaths"/>, which cleanup reports.
/// </summary>
internal sealed class PairDriver
{
    private long _slowPaths;

    /// <summary>Gets how many calls did not complete synchronously.</summary>
    internal long SlowPaths => Interlocked.Read(ref _slowPaths);

    /// <summary>Reserves <paramref name="request"/> and settles it at <paramref name="actual"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void ReserveSettle(IEntitlementGuard guard, in ReservationRequest request, decimal actual = 1m)
    {
        ValueTask<ReservationResult> reserving = guard.ReserveAsync(request);
        ReservationResult reserved = reserving.IsCompletedSuccessfully ? reserving.Result : Wait(reserving);
        if (!reserved.IsAdmitted)
        {
            throw Denied(reserved);
        }

        ValueTask<SettlementResult> settling = reserved.Reservation.SettleAsync(actual);
        if (!settling.IsCompletedSuccessfully)
        {
            Wait(settling);
        }
    }

    /// <summary>Reserves <paramref name="request"/> and releases it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void ReserveRelease(IEntitlementGuard guard, in ReservationRequest request)
    {
        ValueTask<ReservationResult> reserving = guard.ReserveAsync(request);
        ReservationResult reserved = reserving.IsCompletedSuccessfully ? reserving.Result : Wait(reserving);
        if (!reserved.IsAdmitted)
        {
            throw Denied(reserved);
        }

        ValueTask releasing = reserved.Reservation.ReleaseAsync();
        if (!releasing.IsCompletedSuccessfully)
        {
            Wait(releasing);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal T Wait<T>(ValueTask<T> pending)
    {
        Interlocked.Increment(ref _slowPaths);
        return pending.AsTask().GetAwaiter().GetResult();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void Wait(ValueTask pending)
    {
        Interlocked.Increment(ref _slowPaths);
        pending.AsTask().GetAwaiter().GetResult();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static InvalidOperationException Denied(in ReservationResult result) =>
        new($"UsageGuard denied a benchmark reservation: {result.Status} ({result.Reason}).");
}

/// <summary>Adds an operations-per-second column: for the pair benchmarks, pairs per second (1e9 / Mean in ns, OperationsPerInvoke taken into account).</summary>
internal sealed class PairsPerSecondConfig : ManualConfig
{
    public PairsPerSecondConfig() => AddColumn(StatisticColumn.OperationsPerSecond);
}
