using System.Diagnostics;

namespace UsageGuard;

internal sealed partial class EntitlementGuard
{
    private const int ReserveOperation = 0;
    private const int ConsumeOperation = 1;

    private static readonly string[] s_operationNames = ["reserve", "consume"];
    private static readonly string[] s_spanNames = ["usageguard.reserve", "usageguard.consume"];

    // The tags of every (operation, status) pair, built once: counting a decision allocates nothing.
    private static readonly KeyValuePair<string, object?>[][] s_decisionTags = [.. s_operationNames.Select(op =>
        Enumerable.Range(0, Enum.GetValues<ReservationStatus>().Max(v => (int)v) + 1)
            .Select(status => new KeyValuePair<string, object?>(UsageGuardDiagnostics.StatusTag, ((ReservationStatus)status).ToString()))
            .ToArray())];

    private static readonly KeyValuePair<string, object?>[] s_operationTags =
        [new(UsageGuardDiagnostics.OperationTag, "reserve"), new(UsageGuardDiagnostics.OperationTag, "consume")];

    /// <summary>
    /// Decides a reservation or consumption while a meter listener or an activity listener listens: counts the decision on
    /// <c>usageguard.reservations</c> and traces it as a <c>usageguard.reserve</c> or <c>usageguard.consume</c> span. The plain path
    /// (nobody listening) does neither and costs one flag read.
    /// </summary>
    private ValueTask<T> Observed<T>(int operation, ReservationRequest request, Func<EntitlementGuard, ReservationRequest, CancellationToken, ValueTask<T>> decide, Func<T, ReservationStatus> status, CancellationToken cancellationToken)
    {
        Activity? activity = UsageGuardDiagnostics.Source.StartActivity(s_spanNames[operation], ActivityKind.Internal);
        if (activity is not null)
        {
            TagRequest(activity, request);
        }

        return Watched(
            static s => s.Decide(s.Guard, s.Request, s.Token),
            (Guard: this, Request: request, Token: cancellationToken, Decide: decide, Operation: operation, Status: status),
            activity,
            static (result, s, activity) => Decided(s.Operation, s.Status(result), activity));
    }

    private static void Decided(int operation, ReservationStatus status, Activity? activity)
    {
        KeyValuePair<string, object?>[] byStatus = s_decisionTags[operation];
        KeyValuePair<string, object?> statusTag = (uint)status < (uint)byStatus.Length ? byStatus[(int)status] : new(UsageGuardDiagnostics.StatusTag, status.ToString());
        if (UsageGuardDiagnostics.Reservations.Enabled)
        {
            UsageGuardDiagnostics.Reservations.Add(1, s_operationTags[operation], statusTag);
        }

        if (activity is not null)
        {
            activity.SetTag(statusTag.Key, statusTag.Value);
            activity.Dispose();
        }
    }

    /// <summary>Traces one settlement as a <c>usageguard.settle</c> span, ended when its result (and durability, when asked) is known.</summary>
    private static ValueTask<SettlementResult> TracedSettle<TActual>(EntitlementGuard guard, Reservation reservation, TActual actual, Func<EntitlementGuard, Reservation, TActual, CancellationToken, ValueTask<SettlementResult>> settle, CancellationToken cancellationToken)
    {
        Activity? activity = UsageGuardDiagnostics.Source.StartActivity("usageguard.settle", ActivityKind.Internal);
        if (activity is null)
        {
            return settle(guard, reservation, actual, cancellationToken);
        }

        activity.SetTag(UsageGuardDiagnostics.ReservationTag, reservation.Id);
        return Watched(
            static s => s.Settle(s.Guard, s.Reservation, s.Actual, s.Token),
            (Guard: guard, Reservation: reservation, Actual: actual, Token: cancellationToken, Settle: settle),
            activity,
            static (result, _, activity) => Settled(activity!, result));
    }

    private static void Settled(Activity activity, SettlementResult result)
    {
        // A string, so the amount stays exact in every exporter.
        activity.SetTag(UsageGuardDiagnostics.ChargedTag, result.Charged.ToDecimal().ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (result.CatalogVersion is not null)
        {
            activity.SetTag(UsageGuardDiagnostics.CatalogVersionTag, result.CatalogVersion);
        }

        activity.Dispose();
    }

    /// <summary>
    /// Runs an observed call and reports its result once it is known: at once when it completed synchronously, otherwise when it
    /// does. A call that throws, synchronously or not, ends its span as an error. The state is a value tuple and the delegates are
    /// static, so observing allocates nothing beyond the span.
    /// </summary>
    private static ValueTask<T> Watched<T, TState>(Func<TState, ValueTask<T>> call, TState state, Activity? activity, Action<T, TState, Activity?> done)
    {
        ValueTask<T> started;
        try
        {
            started = call(state);
        }
        catch (Exception ex)
        {
            Fail(activity, ex);
            throw;
        }

        if (started.IsCompletedSuccessfully)
        {
            done(started.Result, state, activity);
            return started;
        }

        return WatchedAsync(started, state, activity, done);
    }

    private static async ValueTask<T> WatchedAsync<T, TState>(ValueTask<T> started, TState state, Activity? activity, Action<T, TState, Activity?> done)
    {
        T result;
        try
        {
            result = await started.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Fail(activity, ex);
            throw;
        }

        done(result, state, activity);
        return result;
    }

    private static void TagRequest(Activity activity, ReservationRequest request)
    {
        if (request.Feature is not null)
        {
            activity.SetTag(UsageGuardDiagnostics.FeatureTag, request.Feature);
        }

        if (request.Model is not null)
        {
            activity.SetTag(UsageGuardDiagnostics.ModelTag, request.Model);
        }
    }

    private static void Fail(Activity? activity, Exception ex)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, ex.Message);
        activity.SetTag("error.type", ex.GetType().FullName);
        activity.Dispose();
    }
}
