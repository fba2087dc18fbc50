using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Order;
using Microsoft.Extensions.DependencyInjection;

namespace UsageGuard.Benchmarks;

/// <summary>
/// What governance adds to a pair (reserve, then settle or release): a customer with a four-level subject tree
/// (org → dept → team → agent), a credits budget with a day and a month limit at every level and a per-session budget
/// (credits and requests), so a governed request holds in ten limit windows and the wallet; next to the same pair of a
/// customer without budgets, in the same guard. Issue target: governed reserve+settle at most 1 µs per pair on one
/// thread, 0 B. See benchmarks/README.md, "Governance".
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[Orderer(SummaryOrderPolicy.Declared)]
[Config(typeof(PairsPerSecondConfig))]
public class GovernanceBenchmarks
{
    /// <summary>The governed customer; the baseline customer is <see cref="GuardFactory.Customer"/>, which has no budgets (same id length, so their ledger entries hash the same number of bytes).</summary>
    internal const string GovernedCustomer = "corp";

    /// <summary>The node the governed requests come from, as a path; the tree, not the path, gives its ancestors.</summary>
    internal const string Subject = "org/dept/team/agent";

    /// <summary>The one session every governed request belongs to.</summary>
    internal const string Session = "session-1";

    /// <summary>Limit windows a governed request with <see cref="Session"/> holds in: 4 levels × (day, month), plus the session's credits and requests.</summary>
    internal const int GovernedLimits = 10;

    /// <summary>Every limit's amount: never reached in a run (each pair uses 1 credit and 1 request). Amounts may be at most long.MaxValue / 4 units (scale 6: about 2.3 × 10^12 credits).</summary>
    private const decimal Generous = 1_000_000_000_000m;

    private const string Settle = "Reserve+Settle";
    private const string SettleDiscarding = "Reserve+Settle, DiscardingLedgerStore";
    private const string SettleZero = "Reserve+Settle(0)";
    private const string Release = "Reserve+Release";

    /// <summary>A governed request: 1 credit from the agent node of the tree, in <see cref="Session"/>.</summary>
    internal static readonly ReservationRequest GovernedRequest = new()
    {
        CustomerId = GovernedCustomer,
        Amount = 1m,
        Durability = Durability.WriteBehind,
        Subject = Subject,
        SessionId = Session,
    };

    /// <summary>The same without a session: the per-session budget does not count it, so it holds in the tree's 8 limits only.</summary>
    internal static readonly ReservationRequest TreeOnlyRequest = GovernedRequest with { SessionId = null };

    /// <summary>
    /// A request of the customer without budgets carrying the governed request's subject and session: its ledger entry is as long
    /// as a governed one (the writer hashes both strings), so it separates what the longer entry costs the writer from what
    /// governance costs the caller.
    /// </summary>
    internal static readonly ReservationRequest PlainWithSubjectRequest = GuardFactory.Request with { Subject = Subject, SessionId = Session };

    private ServiceProvider _retainingProvider = null!;
    private ServiceProvider _discardingProvider = null!;
    private IEntitlementGuard _guard = null!;
    private IEntitlementGuard _discardingGuard = null!;
    private readonly PairDriver _pairs = new();

    /// <summary>The governance of <see cref="GovernedCustomer"/>, as an application configures it.</summary>
    internal static void Configure(GovernanceOptions governance)
    {
        var customer = new CustomerGovernanceOptions { CustomerId = GovernedCustomer };
        string? parent = null;
        foreach (string node in new[] { "org", "dept", "team", "agent" })
        {
            customer.Subjects.Add(new SubjectOptions { Id = node, Parent = parent });
            customer.Budgets.Add(new BudgetOptions
            {
                Id = node + "-credits",
                Subject = node,
                Limits =
                {
                    new BudgetLimitOptions { Amount = Generous, Window = "day" },
                    new BudgetLimitOptions { Amount = Generous, Window = "month" },
                },
            });
            parent = node;
        }

        // The circuit breaker of an agent run: credits and steps for the session's lifetime (no window).
        customer.Budgets.Add(new BudgetOptions
        {
            Id = "agent-session",
            Subject = "agent",
            PerSession = true,
            Limits =
            {
                new BudgetLimitOptions { Amount = Generous },
                new BudgetLimitOptions { Measure = LimitMeasure.Requests, Amount = Generous },
            },
        });
        governance.Customers.Add(customer);
    }

    [GlobalSetup]
    public void Setup()
    {
        (_retainingProvider, _guard, _) = GuardFactory.Start(store: null, Configure);
        (_discardingProvider, _discardingGuard, _) = GuardFactory.Start(new DiscardingLedgerStore(), Configure);
        Verify(_retainingProvider, _guard);
        Verify(_discardingProvider, _discardingGuard);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        IReadOnlyList<BudgetUsage> usage = _retainingProvider.GetRequiredService<IUsageGovernance>().GetBudgetUsage(GovernedCustomer, Subject, Session);
        _retainingProvider.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _discardingProvider.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Console.WriteLine($"// cleanup: UsageGuard calls that did not complete synchronously: {_pairs.SlowPaths}");
        Console.WriteLine($"// cleanup: governed limits (default store): {string.Join("; ", usage.Select(u => $"{u.BudgetId} {u.Measure} {u.Window?.ToString() ?? "lifetime"} used {u.Used} held {u.Held}"))}");
    }

    // ---------------------------------------------------------------- reserve + settle, default store

    [Benchmark(Baseline = true, Description = "Reserve+Settle, no budgets")]
    [BenchmarkCategory(Settle)]
    public void ReserveSettlePlain() => _pairs.ReserveSettle(_guard, GuardFactory.Request);

    [Benchmark(Description = "Reserve+Settle, governed (10 limits + wallet)")]
    [BenchmarkCategory(Settle)]
    public void ReserveSettleGoverned() => _pairs.ReserveSettle(_guard, GovernedRequest);

    // ---------------------------------------------------------------- reserve + settle, a store that keeps nothing

    [Benchmark(Baseline = true, Description = "Reserve+Settle, no budgets, DiscardingLedgerStore")]
    [BenchmarkCategory(SettleDiscarding)]
    public void ReserveSettlePlainDiscarding() => _pairs.ReserveSettle(_discardingGuard, GuardFactory.Request);

    [Benchmark(Description = "Reserve+Settle, no budgets, same Subject and SessionId, DiscardingLedgerStore")]
    [BenchmarkCategory(SettleDiscarding)]
    public void ReserveSettlePlainWithSubjectDiscarding() => _pairs.ReserveSettle(_discardingGuard, PlainWithSubjectRequest);

    [Benchmark(Description = "Reserve+Settle, governed, DiscardingLedgerStore")]
    [BenchmarkCategory(SettleDiscarding)]
    public void ReserveSettleGovernedDiscarding() => _pairs.ReserveSettle(_discardingGuard, GovernedRequest);

    // ---------------------------------------------------------------- reserve + settle at 0: the settle path without a ledger entry

    [Benchmark(Baseline = true, Description = "Reserve+Settle(0), no budgets")]
    [BenchmarkCategory(SettleZero)]
    public void ReserveSettleZeroPlain() => _pairs.ReserveSettle(_guard, GuardFactory.Request, 0m);

    [Benchmark(Description = "Reserve+Settle(0), governed (10 limits + wallet)")]
    [BenchmarkCategory(SettleZero)]
    public void ReserveSettleZeroGoverned() => _pairs.ReserveSettle(_guard, GovernedRequest, 0m);

    // ---------------------------------------------------------------- reserve + release: the admission path alone

    [Benchmark(Baseline = true, Description = "Reserve+Release, no budgets")]
    [BenchmarkCategory(Release)]
    public void ReserveReleasePlain() => _pairs.ReserveRelease(_guard, GuardFactory.Request);

    [Benchmark(Description = "Reserve+Release, governed, tree only (8 limits, no SessionId)")]
    [BenchmarkCategory(Release)]
    public void ReserveReleaseTreeOnly() => _pairs.ReserveRelease(_guard, TreeOnlyRequest);

    [Benchmark(Description = "Reserve+Release, governed (10 limits + wallet)")]
    [BenchmarkCategory(Release)]
    public void ReserveReleaseGoverned() => _pairs.ReserveRelease(_guard, GovernedRequest);

    // ---------------------------------------------------------------- the pairs

    /// <summary>Checks, after one governed pair, that the request is counted by all <see cref="GovernedLimits"/> limits and that nothing stays held.</summary>
    private void Verify(ServiceProvider provider, IEntitlementGuard guard)
    {
        _pairs.ReserveSettle(guard, GovernedRequest);
        IReadOnlyList<BudgetUsage> usage = provider.GetRequiredService<IUsageGovernance>().GetBudgetUsage(GovernedCustomer, Subject, Session);
        if (usage.Count != GovernedLimits || usage.Any(u => u.Used <= 0 || u.Held != 0))
        {
            throw new InvalidOperationException($"The governed request is not counted by {GovernedLimits} limits: {string.Join("; ", usage)}");
        }
    }
}
