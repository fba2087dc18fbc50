using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Order;

namespace UsageGuard.Benchmarks;

/// <summary>
/// Model-rate resolution and token pricing on a card of realistic size (52 rates: 42 model ids, 10 wildcard families,
/// 12 aliases), against what a naive implementation does: a <see cref="Dictionary{TKey, TValue}"/> lookup of a price
/// and one <see cref="decimal"/> multiply. One operation is one call. See benchmarks/README.md.
/// </summary>
[MemoryDiagnoser]
[Orderer(SummaryOrderPolicy.Declared)]
[Config(typeof(CallsPerSecondConfig))]
public class RatingBenchmarks
{
    private const int Scale = UsageGuardDefaults.CreditScale;

    // Fields, not constants, so the JIT cannot fold a call away.
    private RateCard _card = null!;
    private RateCard _layered = null!;
    private Dictionary<string, decimal> _pricePerToken = null!;
    private ResolvedRate _flat;
    private ResolvedRate _tiered;
    private TokenUsage _usage;
    private long _totalTokens;
    private long _positionBeforeTierBound;
    private string _exactId = null!;
    private string _aliasId = null!;
    private string _wildcardId = null!;
    private string _unknownId = null!;
    private string _baseOnlyId = null!;
    private long _overageUnits;
    private decimal _overageRate;

    [GlobalSetup]
    public void Setup()
    {
        List<ModelRate> rates = Rates();
        _card = RateCard.Create(rates);

        // A customer's contract: a discount on one model and on a whole family, searched before the list prices.
        _layered = _card.WithOverrides(RateCard.Create(
        [
            new ModelRate { Model = "gpt-4o", InputPerMillion = 2m, OutputPerMillion = 8m },
            new ModelRate { Model = "claude-*", InputPerMillion = 2.5m, OutputPerMillion = 12m },
        ]));

        // The naive card: every exact id and alias mapped to one blended price per token; it has no wildcards.
        _pricePerToken = new Dictionary<string, decimal>();
        foreach (ModelRate rate in rates)
        {
            if (!rate.Model.EndsWith('*'))
            {
                decimal perToken = (rate.InputPerMillion + rate.OutputPerMillion) / 2m / 1_000_000m;
                _pricePerToken.Add(rate.Model, perToken);
                foreach (string alias in rate.Aliases)
                {
                    _pricePerToken.Add(alias, perToken);
                }
            }
        }

        _exactId = "gpt-4o-mini";
        _aliasId = "claude-3-5-sonnet-latest";
        _wildcardId = "gpt-4o-2024-11-20";
        _unknownId = "qwen-2.5-72b-instruct";
        _baseOnlyId = "gemini-2.5-pro";
        _usage = new TokenUsage(InputTokens: 1_234, CachedInputTokens: 100, OutputTokens: 567, ReasoningTokens: 89);
        _totalTokens = _usage.TotalTokens;

        // 1,990 tokens from 999,000: the request crosses the 1,000,000-token bound inside its input tokens.
        _positionBeforeTierBound = 999_000;
        _overageUnits = 1_234;
        _overageRate = 0.0002m;

        _flat = Resolve(_card, "gpt-4o", RateMatch.Exact);
        _tiered = Resolve(_card, "gpt-4.1", RateMatch.Exact);
        Resolve(_card, _exactId, RateMatch.Exact);
        Resolve(_card, _aliasId, RateMatch.Alias);
        if (Resolve(_card, _wildcardId, RateMatch.Wildcard).Model != "gpt-4o*"
            || Resolve(_layered, _baseOnlyId, RateMatch.Exact).Model != _baseOnlyId
            || _card.TryResolve(_unknownId, out _)
            || Pricing.Price(_tiered, _usage, _positionBeforeTierBound, Scale) == Pricing.Price(_tiered, _usage, 0, Scale))
        {
            throw new InvalidOperationException("The benchmark card does not resolve or price the way the rows say.");
        }
    }

    [Benchmark(Baseline = true, Description = "Baseline: Dictionary lookup + decimal multiply")]
    public decimal NaiveLookupAndMultiply() =>
        _pricePerToken.TryGetValue(_exactId, out decimal perToken) ? _totalTokens * perToken : 0m;

    [Benchmark(Description = "TryResolve, exact id")]
    public ResolvedRate ResolveExact()
    {
        _card.TryResolve(_exactId, out ResolvedRate rate);
        return rate;
    }

    [Benchmark(Description = "TryResolve, alias")]
    public ResolvedRate ResolveAlias()
    {
        _card.TryResolve(_aliasId, out ResolvedRate rate);
        return rate;
    }

    [Benchmark(Description = "TryResolve, wildcard family (gpt-4o*)")]
    public ResolvedRate ResolveWildcard()
    {
        _card.TryResolve(_wildcardId, out ResolvedRate rate);
        return rate;
    }

    [Benchmark(Description = "TryResolve, unknown id (miss)")]
    public bool ResolveMiss() => _card.TryResolve(_unknownId, out _);

    [Benchmark(Description = "TryResolve, contract over list card, falls through to list")]
    public ResolvedRate ResolveLayered()
    {
        _layered.TryResolve(_baseOnlyId, out ResolvedRate rate);
        return rate;
    }

    [Benchmark(Description = "Pricing.Price, flat rate")]
    public CreditAmount PriceFlat() => Pricing.Price(_flat, _usage, 0, Scale);

    [Benchmark(Description = "Pricing.Price, tiered rate, crossing a tier bound")]
    public CreditAmount PriceTiered() => Pricing.Price(_tiered, _usage, _positionBeforeTierBound, Scale);

    [Benchmark(Description = "Pricing.OveragePrice")]
    public CreditAmount Overage() => Pricing.OveragePrice(_overageUnits, _overageRate, Scale);

    [Benchmark(Description = "TryResolve + Price, exact id, flat rate")]
    public CreditAmount ResolveAndPrice() =>
        _card.TryResolve(_exactId, out ResolvedRate rate) ? Pricing.Price(rate, _usage, 0, Scale) : default;

    private static ResolvedRate Resolve(RateCard card, string id, RateMatch expected)
    {
        if (!card.TryResolve(id, out ResolvedRate rate) || rate.Match != expected)
        {
            throw new InvalidOperationException($"'{id}' resolved as {rate.Match}, not {expected}.");
        }

        return rate;
    }

    /// <summary>A list-price card shaped like a multi-vendor gateway's: 42 model ids, 12 aliases, 10 wildcard families, one tiered rate.</summary>
    private static List<ModelRate> Rates()
    {
        var rates = new List<ModelRate>();

        void Add(string model, decimal input, decimal output, params string[] aliases)
        {
            var rate = new ModelRate { Model = model, InputPerMillion = input, CachedInputPerMillion = input / 2m, OutputPerMillion = output };
            foreach (string alias in aliases)
            {
                rate.Aliases.Add(alias);
            }

            rates.Add(rate);
        }

        Add("gpt-4o", 2.5m, 10m, "gpt-4o-2024-08-06", "chatgpt-4o-latest");
        Add("gpt-4o-mini", 0.15m, 0.6m, "gpt-4o-mini-2024-07-18");
        Add("gpt-4.1", 2m, 8m);
        Add("gpt-4.1-mini", 0.4m, 1.6m);
        Add("gpt-4.1-nano", 0.1m, 0.4m);
        Add("gpt-4-turbo", 10m, 30m);
        Add("gpt-4", 30m, 60m);
        Add("gpt-3.5-turbo", 0.5m, 1.5m);
        Add("gpt-5", 1.25m, 10m);
        Add("gpt-5-mini", 0.25m, 2m);
        Add("gpt-5-nano", 0.05m, 0.4m);
        Add("o1", 15m, 60m, "o1-2024-12-17");
        Add("o1-mini", 1.1m, 4.4m);
        Add("o3", 2m, 8m);
        Add("o3-mini", 1.1m, 4.4m, "o3-mini-2025-01-31");
        Add("o4-mini", 1.1m, 4.4m);
        Add("text-embedding-3-small", 0.02m, 0m);
        Add("text-embedding-3-large", 0.13m, 0m);
        Add("claude-3-5-sonnet-20241022", 3m, 15m, "claude-3-5-sonnet-latest");
        Add("claude-3-5-haiku-20241022", 0.8m, 4m, "claude-3-5-haiku-latest");
        Add("claude-3-7-sonnet-20250219", 3m, 15m, "claude-3-7-sonnet-latest");
        Add("claude-3-opus-20240229", 15m, 75m);
        Add("claude-3-haiku-20240307", 0.25m, 1.25m);
        Add("claude-sonnet-4-20250514", 3m, 15m, "claude-sonnet-4-0");
        Add("claude-opus-4-20250514", 15m, 75m, "claude-opus-4-0");
        Add("claude-opus-4-1-20250805", 15m, 75m);
        Add("gemini-1.5-pro", 1.25m, 5m);
        Add("gemini-1.5-flash", 0.075m, 0.3m);
        Add("gemini-2.0-flash", 0.1m, 0.4m);
        Add("gemini-2.0-flash-lite", 0.075m, 0.3m);
        Add("gemini-2.5-pro", 1.25m, 10m);
        Add("gemini-2.5-flash", 0.3m, 2.5m);
        Add("mistral-large-latest", 2m, 6m);
        Add("mistral-small-latest", 0.2m, 0.6m);
        Add("codestral-latest", 0.3m, 0.9m);
        Add("llama-3.1-8b-instruct", 0.05m, 0.08m);
        Add("llama-3.1-70b-instruct", 0.59m, 0.79m);
        Add("llama-3.3-70b-instruct", 0.59m, 0.79m);
        Add("deepseek-chat", 0.27m, 1.1m, "deepseek-v3");
        Add("deepseek-reasoner", 0.55m, 2.19m, "deepseek-r1");
        Add("command-r", 0.15m, 0.6m);
        Add("command-r-plus", 2.5m, 10m);

        // Wildcard families: prefixes of 2, 6, 7, 8, 11 and 15 characters.
        Add("gpt-4o*", 2.5m, 10m);
        Add("gpt-4.1*", 2m, 8m);
        Add("o1*", 15m, 60m);
        Add("o3*", 2m, 8m);
        Add("claude-3-5-*", 3m, 15m);
        Add("claude-3-7-*", 3m, 15m);
        Add("claude-sonnet-4*", 3m, 15m);
        Add("gemini-2.5-*", 1.25m, 10m);
        Add("mistral-*", 2m, 6m);
        Add("llama-3*", 0.59m, 0.79m);

        // Graduated volume pricing on one model: list price above 10 M tokens a period.
        ModelRate tiered = rates.Find(r => r.Model == "gpt-4.1")!;
        tiered.Tiers.Add(new RateTier { UpToTokens = 1_000_000, InputPerMillion = 2.4m, OutputPerMillion = 9.6m });
        tiered.Tiers.Add(new RateTier { UpToTokens = 10_000_000, InputPerMillion = 2.2m, OutputPerMillion = 8.8m });
        return rates;
    }

    /// <summary>Adds an operations-per-second column: here, calls per second.</summary>
    private sealed class CallsPerSecondConfig : ManualConfig
    {
        public CallsPerSecondConfig() => AddColumn(StatisticColumn.OperationsPerSecond);
    }
}
