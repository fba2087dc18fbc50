using System.Diagnostics.Metrics;

namespace UsageGuard;

/// <summary>The names UsageGuard publishes its metrics under, for <c>MeterListener</c> and OpenTelemetry.</summary>
/// <remarks>Instruments never carry customer ids as tags.</remarks>
public static class UsageGuardDiagnostics
{
    /// <summary>The name of UsageGuard's <see cref="Meter"/>.</summary>
    public const string MeterName = "UsageGuard";

    private static readonly Meter s_meter = new(MeterName);

    /// <summary>The tag of the <c>usageguard.alerts</c> counter that says what raised an alert: <c>budget</c> or <c>wallet</c>.</summary>
    internal const string AlertKindTag = "usageguard.alert.kind";

    /// <summary>
    /// Gets the counter of alerts raised, tagged with what raised them (<see cref="AlertKindTag"/>: <c>budget</c> or <c>wallet</c>)
    /// and the measure (<c>usageguard.measure</c>; <c>Credits</c> for a wallet alert).
    /// </summary>
    internal static Counter<long> Alerts { get; } = s_meter.CreateCounter<long>("usageguard.alerts", "{alert}", "Alert thresholds reached: budget limits and wallet balances.");

    /// <summary>Gets the counter of auto-recharge payments, tagged with <c>usageguard.outcome</c> (<c>succeeded</c> or <c>failed</c>).</summary>
    internal static Counter<long> Recharges { get; } = s_meter.CreateCounter<long>("usageguard.recharges", "{recharge}", "Auto-recharge payments, by outcome.");
}
