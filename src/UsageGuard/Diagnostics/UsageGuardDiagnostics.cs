using System.Diagnostics.Metrics;

namespace UsageGuard;

/// <summary>The names UsageGuard publishes its metrics under, for <c>MeterListener</c> and OpenTelemetry.</summary>
/// <remarks>Instruments never carry customer ids as tags.</remarks>
public static class UsageGuardDiagnostics
{
    /// <summary>The name of UsageGuard's <see cref="Meter"/>.</summary>
    public const string MeterName = "UsageGuard";

    private static readonly Meter s_meter = new(MeterName);

    /// <summary>Gets the counter of budget alerts raised, tagged with the limit's measure (<c>usageguard.measure</c>).</summary>
    internal static Counter<long> Alerts { get; } = s_meter.CreateCounter<long>("usageguard.alerts", "{alert}", "Budget alert thresholds reached.");

    /// <summary>Gets the counter of auto-recharge payments, tagged with <c>usageguard.outcome</c> (<c>succeeded</c> or <c>failed</c>).</summary>
    internal static Counter<long> Recharges { get; } = s_meter.CreateCounter<long>("usageguard.recharges", "{recharge}", "Auto-recharge payments, by outcome.");
}
