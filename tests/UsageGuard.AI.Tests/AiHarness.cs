using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using UsageGuard.Testing;

namespace UsageGuard.AI.Tests;

/// <summary>A guard with a catalog rate for model <c>m</c> (and <c>m-2026</c>), a test chat client, and the guarded client around it.</summary>
internal sealed class AiHarness : IAsyncDisposable
{
    // Per million tokens: input 10, cached input 5, output 20, reasoning 40 — distinct, so a token priced in the wrong class shows.
    internal const decimal InputPrice = 10m;
    internal const decimal CachedPrice = 5m;
    internal const decimal OutputPrice = 20m;
    internal const decimal ReasoningPrice = 40m;

    private readonly ServiceProvider _services;

    private AiHarness(ServiceProvider services, UsageGuardChatClientOptions options)
    {
        _services = services;
        Guard = services.GetRequiredService<IEntitlementGuard>();
        Ledger = services.GetRequiredService<ICreditLedger>();
        Governance = services.GetRequiredService<IUsageGovernance>();
        Client = new UsageGuardChatClient(Inner, Guard, options);
    }

    public TestChatClient Inner { get; } = new();

    public IEntitlementGuard Guard { get; }

    public ICreditLedger Ledger { get; }

    public IUsageGovernance Governance { get; }

    public UsageGuardChatClient Client { get; }

    public static async Task<AiHarness> StartAsync(decimal credits = 1_000m, Action<GovernanceOptions>? governance = null, Action<UsageGuardChatClientOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new ManualTimeProvider(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero)));
        IUsageGuardBuilder builder = services.AddUsageGuard(o => o.ReservationSweepInterval = TimeSpan.Zero).UseCatalog(c =>
        {
            c.Models.Add(new ModelRate { Model = "m", InputPerMillion = InputPrice, CachedInputPerMillion = CachedPrice, OutputPerMillion = OutputPrice, ReasoningPerMillion = ReasoningPrice });
            c.Models.Add(new ModelRate { Model = "m-2026*", InputPerMillion = 1m, OutputPerMillion = 1m });
            c.UnknownFeatures = UnknownPolicy.Allow;
        });
        if (governance is not null)
        {
            builder.UseGovernance(governance);
        }

        // Cap: a call charges what it cost, even past its hold (the tests' reported usage is larger than the estimate).
        var options = new UsageGuardChatClientOptions { DefaultModelId = "m", OverrunPolicy = SettlementPolicy.Cap };
        configure?.Invoke(options);
        var h = new AiHarness(services.BuildServiceProvider(), options);
        if (credits > 0)
        {
            await h.Ledger.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = credits });
        }

        return h;
    }

    /// <summary>The price of tokens at the harness's rate for <c>m</c>.</summary>
    public static decimal Price(long input, long cached, long output, long reasoning) =>
        ((input * InputPrice) + (cached * CachedPrice) + (output * OutputPrice) + (reasoning * ReasoningPrice)) / 1_000_000m;

    public static ChatOptions For(string customer = "acme", int? maxOutput = 100, string? subject = null, string? session = null) =>
        new ChatOptions { MaxOutputTokens = maxOutput }.WithUsageContext(new UsageContext { CustomerId = customer, Subject = subject, SessionId = session });

    public decimal Balance(string customer = "acme") => Ledger.GetBalance(customer).Balance.ToDecimal();

    public decimal Held(string customer = "acme") => Ledger.GetBalance(customer).Held.ToDecimal();

    public async Task<IReadOnlyList<LedgerEntry>> SettleEntriesAsync(string customer = "acme") =>
        (await Ledger.GetHistoryAsync(new LedgerQuery { CustomerId = customer, Kind = LedgerEntryKind.Settle })).ToList();

    public async ValueTask DisposeAsync() => await _services.DisposeAsync();
}
