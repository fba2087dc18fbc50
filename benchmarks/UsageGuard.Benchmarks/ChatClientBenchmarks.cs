using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using UsageGuard.AI;

namespace UsageGuard.Benchmarks;

/// <summary>
/// What <see cref="UsageGuardChatClient"/> adds to a chat call: the same call to an inner client that answers at once (a completed
/// task with a cached response, or a two-update stream), raw and guarded, in one run. Guarded: resolve the context from the call's
/// options, estimate the input, reserve the estimate priced for the model, settle the reported usage (one Settle entry, write-behind,
/// to a store that keeps nothing).
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[Orderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared)]
public class ChatClientBenchmarks
{
    private const string Response = "GetResponseAsync";
    private const string Streaming = "GetStreamingResponseAsync";

    private static readonly ChatMessage[] Messages = [new(ChatRole.User, "What is the capital of France? Answer in one word.")];

    private ServiceProvider _provider = null!;
    private InstantChatClient _inner = null!;
    private UsageGuardChatClient _guarded = null!;
    private ChatOptions _options = null!;

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddSingleton<ILedgerStore>(new DiscardingLedgerStore());
        services.AddUsageGuard(o =>
        {
            o.SettlementDurability = Durability.WriteBehind;
            o.ReservationSweepInterval = TimeSpan.Zero;
        }).UseCatalog(c => c.Models.Add(new ModelRate { Model = "m", InputPerMillion = 2m, OutputPerMillion = 8m }));
        _provider = services.BuildServiceProvider();
        _provider.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = GuardFactory.Customer, Amount = GuardFactory.GrantCredits }).AsTask().GetAwaiter().GetResult();
        _inner = new InstantChatClient();
        _guarded = _inner.WithUsageGuard(_provider);
        _options = new ChatOptions { ModelId = "m", MaxOutputTokens = 256 }.WithUsageContext(new UsageContext { CustomerId = GuardFactory.Customer });

        // Each guarded call must be reserved and settled: one call, then the wallet must show the charge and no hold.
        _guarded.GetResponseAsync(Messages, _options).GetAwaiter().GetResult();
        WalletBalance balance = _provider.GetRequiredService<ICreditLedger>().GetBalance(GuardFactory.Customer);
        if (balance.Held.Units != 0 || balance.Balance.ToDecimal() >= GuardFactory.GrantCredits)
        {
            throw new InvalidOperationException($"The guarded call did not settle: {balance}.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _provider.Dispose();

    [Benchmark(Baseline = true, Description = "raw test client")]
    [BenchmarkCategory(Response)]
    public Task<ChatResponse> Raw() => _inner.GetResponseAsync(Messages, _options);

    [Benchmark(Description = "UsageGuardChatClient around it")]
    [BenchmarkCategory(Response)]
    public Task<ChatResponse> Guarded() => _guarded.GetResponseAsync(Messages, _options);

    [Benchmark(Baseline = true, Description = "raw test client, stream read to the end")]
    [BenchmarkCategory(Streaming)]
    public async Task<int> RawStream()
    {
        int n = 0;
        await foreach (ChatResponseUpdate update in _inner.GetStreamingResponseAsync(Messages, _options))
        {
            n++;
        }

        return n;
    }

    [Benchmark(Description = "UsageGuardChatClient around it, stream read to the end")]
    [BenchmarkCategory(Streaming)]
    public async Task<int> GuardedStream()
    {
        int n = 0;
        await foreach (ChatResponseUpdate update in _guarded.GetStreamingResponseAsync(Messages, _options))
        {
            n++;
        }

        return n;
    }

    /// <summary>Answers at once: a completed task with one cached response, or a stream of a text update and a usage update.</summary>
    private sealed class InstantChatClient : IChatClient
    {
        private static readonly UsageDetails Usage = new() { InputTokenCount = 20, OutputTokenCount = 3 };
        private readonly Task<ChatResponse> _response = Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "Paris.")) { Usage = Usage, ModelId = "m" });
        private readonly ChatResponseUpdate[] _updates =
        [
            new(ChatRole.Assistant, "Paris.") { ModelId = "m" },
            new() { Contents = [new UsageContent(Usage)] },
        ];

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) => _response;

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            foreach (ChatResponseUpdate update in _updates)
            {
                yield return update;
            }

            await Task.CompletedTask.ConfigureAwait(false);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
