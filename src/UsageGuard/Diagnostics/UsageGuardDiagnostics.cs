using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace UsageGuard;

/// <summary>The names UsageGuard publishes its metrics under, for <c>MeterListener</c> and OpenTelemetry.</summary>
/// <remarks>Instruments never carry customer ids as tags.</remarks>
public static class UsageGuardDiagnostics
{
    /// <summary>The name of UsageGuard's <see cref="Meter"/>.</summary>
    public const string MeterName = "UsageGuard";

    /// <summary>The name of UsageGuard's <see cref="ActivitySource"/>: spans <c>usageguard.reserve</c>, <c>usageguard.consume</c>,
    /// <c>usageguard.settle</c> and <c>usageguard.ledger.flush</c>.</summary>
    public const string ActivitySourceName = "UsageGuard";

    private static readonly Meter s_meter = new(MeterName);

    /// <summary>Gets the source of UsageGuard's spans.</summary>
    internal static ActivitySource Source { get; } = new(ActivitySourceName);

    /// <summary>Gets whether anyone observes decisions: a listener of <c>usageguard.reservations</c> or of the spans.</summary>
    internal static bool Observing => Reservations.Enabled || Source.HasListeners();

    /// <summary>The span tag of the reservation id (a number the guard assigned, not a customer's).</summary>
    internal const string ReservationTag = "usageguard.reservation.id";

    /// <summary>The span tag of the credits a settlement charged, as an exact invariant-culture decimal string.</summary>
    internal const string ChargedTag = "usageguard.charged";

    /// <summary>The span tag of the catalog version that priced the request.</summary>
    internal const string CatalogVersionTag = "usageguard.catalog.version";

    /// <summary>The span tag of the feature a request meters.</summary>
    internal const string FeatureTag = "usageguard.feature";

    /// <summary>The span tag of the model a request names (the OpenTelemetry GenAI convention's name).</summary>
    internal const string ModelTag = "gen_ai.request.model";

    /// <summary>The span tag of the number of entries a ledger flush committed.</summary>
    internal const string BatchSizeTag = "usageguard.ledger.batch.size";

    /// <summary>The tag of the <c>usageguard.alerts</c> counter that says what raised an alert: <c>budget</c> or <c>wallet</c>.</summary>
    internal const string AlertKindTag = "usageguard.alert.kind";

    /// <summary>
    /// Gets the counter of alerts raised, tagged with what raised them (<see cref="AlertKindTag"/>: <c>budget</c> or <c>wallet</c>)
    /// and the measure (<c>usageguard.measure</c>; <c>Credits</c> for a wallet alert).
    /// </summary>
    internal static Counter<long> Alerts { get; } = s_meter.CreateCounter<long>("usageguard.alerts", "{alert}", "Alert thresholds reached: budget limits and wallet balances.");

    /// <summary>The tag that names the operation of a <c>usageguard.reservations</c> measurement: <c>reserve</c> or <c>consume</c>.</summary>
    internal const string OperationTag = "usageguard.operation";

    /// <summary>The tag that names a reservation's outcome: <c>Admitted</c>, or the denial's <see cref="ReservationStatus"/>.</summary>
    internal const string StatusTag = "usageguard.status";

    /// <summary>The tag that names a credit type (a code from configuration, never a customer's).</summary>
    internal const string CreditTypeTag = "usageguard.credit_type";

    /// <summary>
    /// Gets the counter of reservations and consumptions decided, tagged with <see cref="OperationTag"/> and <see cref="StatusTag"/>:
    /// denials by reason are the measurements whose status is not <c>Admitted</c>.
    /// </summary>
    internal static Counter<long> Reservations { get; } = s_meter.CreateCounter<long>("usageguard.reservations", "{reservation}", "Reservations and consumptions decided, by operation and outcome.");

    /// <summary>
    /// Gets the counter of credits consumed by settlements (charged to blocks, or taken as debt), in the credit type's smallest units
    /// (10^-scale credits: exact), tagged with <see cref="CreditTypeTag"/>.
    /// </summary>
    internal static Counter<long> CreditsConsumed { get; } = s_meter.CreateCounter<long>("usageguard.credits.consumed", "{unit}", "Credits consumed by settlements, in the credit type's smallest units.");

    /// <summary>Gets the histogram of ledger batch sizes: entries per batch the writer commits.</summary>
    internal static Histogram<long> LedgerBatchSize { get; } = s_meter.CreateHistogram<long>("usageguard.ledger.batch.size", "{entry}", "Entries per ledger batch committed.");

    /// <summary>Gets the histogram of how long committing one ledger batch took, retries included, in seconds.</summary>
    internal static Histogram<double> LedgerBatchDuration { get; } = s_meter.CreateHistogram<double>("usageguard.ledger.batch.duration", "s", "Time to commit one ledger batch, retries included.");

    /// <summary>Gets the counter of failed attempts to append to the ledger store, tagged with <c>error.type</c> (the exception's type).</summary>
    internal static Counter<long> StoreErrors { get; } = s_meter.CreateCounter<long>("usageguard.store.errors", "{error}", "Failed attempts to append to the ledger store.");

    /// <summary>Gets the counter of auto-recharge payments, tagged with <c>usageguard.outcome</c> (<c>succeeded</c> or <c>failed</c>).</summary>
    internal static Counter<long> Recharges { get; } = s_meter.CreateCounter<long>("usageguard.recharges", "{recharge}", "Auto-recharge payments, by outcome.");
}
