using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;

namespace UsageGuard.Benchmarks;

/// <summary>
/// <c>Check()</c> on a warm catalog snapshot (target: at most 100 ns and 0 B), next to a dictionary lookup of a precomputed
/// answer; and a reserve priced from the rate card next to a pre-priced reserve, both settled, in the same run.
/// </summary>
[MemoryDiagnoser]
public class CheckBenchmarks
{
    private const string Customer = "acme";
    private static readonly TokenUsage Tokens = new(1_000, 0, 500, 0);

    private readonly Dictionary<string, Dictionary<string, bool>> _precomputed = new(StringComparer.Ordinal)
    {
        [Customer] = new(StringComparer.Ordinal) { ["sso"] = true, ["api.calls"] = true },
    };

    private ServiceProvider _provider = null!;
    private IEntitlementGuard _guard = null!;

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddUsageGuard(o =>
        {
            o.SettlementDurability = Durability.WriteBehind;
            o.ReservationSweepInterval = TimeSpan.Zero;
        }).UseCatalog(Catalog);
        _provider = services.BuildServiceProvider();
        _guard = _provider.GetRequiredService<IEntitlementGuard>();
        _provider.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = Customer, Amount = 1_000_000_000_000m }).AsTask().GetAwaiter().GetResult();

        // Warm: the metered feature's window exists, as it does for any customer that has used the feature.
        ReservationResult warm = _guard.ReserveAsync(new ReservationRequest { CustomerId = Customer, Feature = "api.calls", Amount = 1m }).AsTask().GetAwaiter().GetResult();
        _guard.SettleAsync(warm.Reservation, 1m).AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => _provider.Dispose();

    [Benchmark(Baseline = true, Description = "Baseline: precomputed Dictionary<customer, Dictionary<feature, bool>>")]
    public bool Dictionary() => _precomputed[Customer]["sso"];

    [Benchmark(Description = "Check(boolean feature)")]
    public bool CheckBoolean() => _guard.Check(Customer, "sso").HasAccess;

    [Benchmark(Description = "Check(metered feature, 10 units)")]
    public bool CheckMetered() => _guard.Check(Customer, "api.calls", 10).HasAccess;

    [Benchmark(Description = "Reserve+Settle, pre-priced amount")]
    public decimal ReservePrePriced()
    {
        ReservationResult r = Completed(_guard.ReserveAsync(new ReservationRequest { CustomerId = Customer, Model = "gpt-x", Amount = 0.006m }));
        return Completed(_guard.SettleAsync(r.Reservation, 0.006m)).Charged.ToDecimal();
    }

    [Benchmark(Description = "Reserve+Settle, priced from the rate card (tokens)")]
    public decimal ReservePricedFromRateCard()
    {
        ReservationResult r = Completed(_guard.ReserveAsync(new ReservationRequest { CustomerId = Customer, Model = "gpt-x", Tokens = Tokens }));
        return Completed(_guard.SettleAsync(r.Reservation, Tokens)).Charged.ToDecimal();
    }

    [Benchmark(Description = "Reserve+Settle, metered feature (writes a usage entry)")]
    public decimal ReserveMetered()
    {
        ReservationResult r = Completed(_guard.ReserveAsync(new ReservationRequest { CustomerId = Customer, Feature = "api.calls", Quantity = 10, Amount = 0.006m }));
        return Completed(_guard.SettleAsync(r.Reservation, 0.006m)).Charged.ToDecimal();
    }

    [Benchmark(Description = "Reserve+Settle, tiered rate (tokens counted per billing period)")]
    public decimal ReserveTiered()
    {
        ReservationResult r = Completed(_guard.ReserveAsync(new ReservationRequest { CustomerId = Customer, Model = "tiered", Tokens = Tokens }));
        return Completed(_guard.SettleAsync(r.Reservation, Tokens)).Charged.ToDecimal();
    }

    // Write-behind settlements and in-memory reservations complete synchronously; anything else would be a finding.
    private static T Completed<T>(ValueTask<T> pending) =>
        pending.IsCompletedSuccessfully ? pending.Result : throw new InvalidOperationException("The operation did not complete synchronously.");

    private static void Catalog(CatalogOptions catalog)
    {
        catalog.Features.Add(new FeatureOptions { Id = "sso", Kind = FeatureKind.Boolean });
        catalog.Features.Add(new FeatureOptions { Id = "api.calls", Kind = FeatureKind.Metered });
        var pro = new PlanOptions { Id = "pro" };
        pro.Entitlements.Add(new EntitlementOptions { Feature = "sso" });
        pro.Entitlements.Add(new EntitlementOptions { Feature = "api.calls", Limit = 1_000_000_000_000, Window = UsageWindow.Month });
        catalog.Plans.Add(pro);
        catalog.Models.Add(new ModelRate { Model = "gpt-x", InputPerMillion = 2m, OutputPerMillion = 8m });
        var tiered = new ModelRate { Model = "tiered", InputPerMillion = 2m, OutputPerMillion = 8m };
        tiered.Tiers.Add(new RateTier { UpToTokens = 1_000_000, InputPerMillion = 3m, OutputPerMillion = 12m });
        catalog.Models.Add(tiered);
        catalog.Subscriptions.Add(new SubscriptionOptions { Customer = Customer, Plan = "pro", Start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero) });
    }
}
