using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using UsageGuard.Testing;

namespace UsageGuard.AI.Tests.Http;

/// <summary>
/// A guard set up through DI with a catalog that prices <c>gpt-test</c> and its dated snapshot, an <see cref="OpenAiTestServer"/>, and
/// the official OpenAI SDK sending to it through an <see cref="HttpClient"/> whose handler is <see cref="UsageGuardHttpHandler"/>.
/// </summary>
internal sealed class GuardedOpenAi : IAsyncDisposable
{
    public const string Customer = "acme";

    /// <summary>gpt-test per million tokens: input 2, cached input 1, output 8, reasoning 16.</summary>
    public static ModelRate Requested => new() { Model = "gpt-test", CreditType = "credits", InputPerMillion = 2m, CachedInputPerMillion = 1m, OutputPerMillion = 8m, ReasoningPerMillion = 16m };

    /// <summary>The dated snapshot per million tokens: input 1, cached input 0.5, output (and reasoning) 4.</summary>
    public static ModelRate Snapshot => new() { Model = "gpt-test-2026-01-01", CreditType = "credits", InputPerMillion = 1m, CachedInputPerMillion = 0.5m, OutputPerMillion = 4m };

    private readonly ServiceProvider _services;

    private GuardedOpenAi(ServiceProvider services, OpenAiTestServer server, UsageGuardHttpHandlerOptions options, bool sdkRetries)
    {
        _services = services;
        Server = server;
        Guard = new CountingGuard(services.GetRequiredService<IEntitlementGuard>());
        Ledger = services.GetRequiredService<ICreditLedger>();
        Handler = new UsageGuardHttpHandler(new SocketsHttpHandler(), Guard, options);
        Http = new HttpClient(Handler) { BaseAddress = server.Endpoint };
        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = server.Endpoint,
            Transport = new HttpClientPipelineTransport(Http),
            RetryPolicy = sdkRetries ? null : new ClientRetryPolicy(maxRetries: 0),
        };
        Chat = new ChatClient("gpt-test", new ApiKeyCredential("sk-test"), clientOptions);
    }

    public OpenAiTestServer Server { get; }

    /// <summary>Gets the guard the handler uses: the one from DI, counting reservations.</summary>
    public CountingGuard Guard { get; }

    public ICreditLedger Ledger { get; }

    public UsageGuardHttpHandler Handler { get; }

    /// <summary>Gets a client through the guarded handler, based at the server's /v1/.</summary>
    public HttpClient Http { get; }

    /// <summary>Gets the OpenAI SDK's chat client for gpt-test, sending through <see cref="Http"/>, without retries unless asked for.</summary>
    public ChatClient Chat { get; }

    public static async Task<GuardedOpenAi> StartAsync(decimal credits = 10m, Action<UsageGuardHttpHandlerOptions>? configure = null, bool sdkRetries = false)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new ManualTimeProvider());
        services.AddUsageGuard(o => o.ReservationSweepInterval = TimeSpan.Zero).UseCatalog(c =>
        {
            c.Models.Add(Requested);
            c.Models.Add(Snapshot);
            c.UnknownFeatures = UnknownPolicy.Allow;
        });
        ServiceProvider provider = services.BuildServiceProvider();
        if (credits > 0)
        {
            await provider.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = Customer, Amount = credits });
        }

        var options = new UsageGuardHttpHandlerOptions();
        configure?.Invoke(options);
        return new GuardedOpenAi(provider, OpenAiTestServer.Start(), options, sdkRetries);
    }

    /// <summary>Gets the settlement entries of the customer.</summary>
    public async Task<IReadOnlyList<LedgerEntry>> SettlementsAsync()
    {
        await Ledger.FlushAsync();
        return [.. (await Ledger.GetHistoryAsync(new LedgerQuery { CustomerId = Customer })).Where(e => e.Kind == LedgerEntryKind.Settle)];
    }

    /// <summary>Gets the credits charged so far: the settlement entries, summed.</summary>
    public async Task<decimal> ChargedAsync() => -(await SettlementsAsync()).Sum(e => e.Amount.ToDecimal());

    /// <summary>Gets the credits held now.</summary>
    public decimal Held => Ledger.GetBalance(Customer).Held.ToDecimal();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        await _services.DisposeAsync();
    }
}
