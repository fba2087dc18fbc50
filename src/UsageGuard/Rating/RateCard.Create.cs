using System.Collections.Frozen;
using System.Globalization;

namespace UsageGuard;

/// <content>Validation of <see cref="ModelRate"/> lists and their compilation into a card.</content>
public sealed partial class RateCard
{
    /// <summary>Validates model rates and builds an immutable card from them.</summary>
    /// <param name="rates">The rates; they are copied, so changing them later does not change the card.</param>
    /// <returns>The card.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="rates"/> is <see langword="null"/>.</exception>
    /// <exception cref="RateCardException">
    /// The rates are invalid: a missing or malformed <see cref="ModelRate.Model"/> (a <c>*</c> anywhere but at the end),
    /// a missing credit type or cost currency, a negative price, a model id used twice, an alias that is empty, contains
    /// <c>*</c>, or equals a model id or another alias, or tiers whose bounds are not positive and strictly ascending
    /// with only the last one unbounded. The message lists every problem at once, each naming its rate.
    /// </exception>
    /// <remarks>Whether each rate's credit type is configured is not checked here; the caller checks it.</remarks>
    public static RateCard Create(IEnumerable<ModelRate> rates)
    {
        ArgumentNullException.ThrowIfNull(rates);
        var list = new List<ModelRate>(rates);
        var problems = new List<string>();
        for (int i = 0; i < list.Count; i++)
        {
            ValidateRate(list[i], i, problems);
        }

        ValidateIds(list, problems);
        if (problems.Count > 0)
        {
            throw new RateCardException(problems);
        }

        var ids = new Dictionary<string, ResolvedRate>(StringComparer.Ordinal);
        var wildcards = new Dictionary<string, CompiledRate>(StringComparer.Ordinal);
        foreach (ModelRate rate in list)
        {
            CompiledRate compiled = Compile(rate);
            if (IsWildcard(rate.Model))
            {
                wildcards.Add(rate.Model[..^1], compiled);
            }
            else
            {
                ids.Add(rate.Model, new ResolvedRate(compiled, RateMatch.Exact));
            }

            foreach (string alias in rate.Aliases)
            {
                ids.Add(alias, new ResolvedRate(compiled, RateMatch.Alias));
            }
        }

        int[] prefixLengths = wildcards.Keys.Select(k => k.Length).Distinct().OrderDescending().ToArray();
        return new RateCard(ids.ToFrozenDictionary(StringComparer.Ordinal), wildcards.ToFrozenDictionary(StringComparer.Ordinal), prefixLengths, null);
    }

    private static bool IsWildcard(string model) => model.EndsWith('*');

    private static CompiledRate Compile(ModelRate rate)
    {
        int segments = rate.Tiers.Count + 1;
        bool lastTierUnbounded = rate.Tiers.Count > 0 && rate.Tiers[^1].UpToTokens is null;
        var bounds = new long[lastTierUnbounded ? rate.Tiers.Count - 1 : rate.Tiers.Count];
        var prices = new decimal[(bounds.Length + 1) * PriceSchedule.KindCount];
        for (int t = 0; t < rate.Tiers.Count; t++)
        {
            RateTier tier = rate.Tiers[t];
            if (tier.UpToTokens is long upTo)
            {
                bounds[t] = upTo;
            }

            SetPrices(prices, t, tier.InputPerMillion, tier.CachedInputPerMillion, tier.OutputPerMillion, tier.ReasoningPerMillion);
        }

        // Beyond the last bounded tier the rate's own prices apply; an unbounded last tier has taken that segment.
        if (!lastTierUnbounded)
        {
            SetPrices(prices, segments - 1, rate.InputPerMillion, rate.CachedInputPerMillion, rate.OutputPerMillion, rate.ReasoningPerMillion);
        }

        PriceSchedule? cost = null;
        if (rate.CostBasis is { } basis)
        {
            var costPrices = new decimal[PriceSchedule.KindCount];
            SetPrices(costPrices, 0, basis.InputPerMillion, basis.CachedInputPerMillion, basis.OutputPerMillion, basis.ReasoningPerMillion);
            cost = PriceSchedule.Create([], costPrices);
        }

        return new CompiledRate(rate.Model, rate.CreditType, PriceSchedule.Create(bounds, prices, rate.TierMode == TierMode.Volume), rate.CostBasis?.Currency, cost);
    }

    private static void SetPrices(decimal[] prices, int segment, decimal input, decimal? cachedInput, decimal output, decimal? reasoning)
    {
        int at = segment * PriceSchedule.KindCount;
        prices[at] = input;
        prices[at + 1] = cachedInput ?? input;
        prices[at + 2] = output;
        prices[at + 3] = reasoning ?? output;
    }

    private static void ValidateRate(ModelRate? rate, int index, List<string> problems)
    {
        if (rate is null)
        {
            problems.Add($"rate [{index}] is null");
            return;
        }

        string name = Name(rate, index);
        if (string.IsNullOrWhiteSpace(rate.Model))
        {
            problems.Add($"{name}: Model is required");
        }
        else
        {
            if (rate.Model.Length > UsageGuardDefaults.MaxIdLength)
            {
                problems.Add($"{name}: Model is longer than {UsageGuardDefaults.MaxIdLength} characters");
            }

            int star = rate.Model.IndexOf('*', StringComparison.Ordinal);
            if (star >= 0 && star != rate.Model.Length - 1)
            {
                problems.Add($"{name}: Model has a '*' that is not its last character; a wildcard family ends in a single '*', such as 'gpt-4o*'");
            }
        }

        if (string.IsNullOrWhiteSpace(rate.CreditType))
        {
            problems.Add($"{name}: CreditType is required");
        }

        CheckPrices(name, string.Empty, rate.InputPerMillion, rate.CachedInputPerMillion, rate.OutputPerMillion, rate.ReasoningPerMillion, problems);

        for (int a = 0; a < rate.Aliases.Count; a++)
        {
            string? alias = rate.Aliases[a];
            if (string.IsNullOrWhiteSpace(alias))
            {
                problems.Add($"{name}: Aliases[{a}] is empty");
            }
            else if (alias.Contains('*', StringComparison.Ordinal))
            {
                problems.Add($"{name}: alias '{alias}' contains '*'; an alias is an exact model id");
            }
            else if (alias.Length > UsageGuardDefaults.MaxIdLength)
            {
                problems.Add($"{name}: alias '{alias}' is longer than {UsageGuardDefaults.MaxIdLength} characters");
            }
        }

        ValidateTiers(rate, name, problems);
        if (!Enum.IsDefined(rate.TierMode))
        {
            problems.Add($"{name}: tier mode {(int)rate.TierMode} is not Graduated or Volume");
        }

        if (rate.CostBasis is { } cost)
        {
            if (string.IsNullOrWhiteSpace(cost.Currency))
            {
                problems.Add($"{name}: CostBasis.Currency is required");
            }

            CheckPrices(name, "CostBasis.", cost.InputPerMillion, cost.CachedInputPerMillion, cost.OutputPerMillion, cost.ReasoningPerMillion, problems);
        }
    }

    private static void ValidateTiers(ModelRate rate, string name, List<string> problems)
    {
        long? previous = null;
        for (int t = 0; t < rate.Tiers.Count; t++)
        {
            RateTier? tier = rate.Tiers[t];
            if (tier is null)
            {
                problems.Add($"{name}: Tiers[{t}] is null");
                continue;
            }

            if (tier.UpToTokens is not long upTo)
            {
                if (t != rate.Tiers.Count - 1)
                {
                    problems.Add($"{name}: Tiers[{t}] is unbounded (no UpToTokens) but is not the last tier");
                }
            }
            else if (upTo <= 0)
            {
                problems.Add($"{name}: Tiers[{t}].UpToTokens is not positive ({Format(upTo)})");
            }
            else if (previous is long before && upTo <= before)
            {
                problems.Add($"{name}: Tiers[{t}].UpToTokens ({Format(upTo)}) is not above the previous tier's ({Format(before)}); tiers must be strictly ascending");
            }

            if (tier.UpToTokens is long bound && bound > (previous ?? 0))
            {
                previous = bound;
            }

            CheckPrices(name, $"Tiers[{t}].", tier.InputPerMillion, tier.CachedInputPerMillion, tier.OutputPerMillion, tier.ReasoningPerMillion, problems);
        }
    }

    private static void ValidateIds(List<ModelRate> rates, List<string> problems)
    {
        // Model id -> index of its first rate; alias -> index of the rate that declared it first.
        var models = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < rates.Count; i++)
        {
            string? model = rates[i]?.Model;
            if (string.IsNullOrWhiteSpace(model))
            {
                continue;
            }

            if (!models.TryAdd(model, i))
            {
                problems.Add($"{Name(rates[i], i)}: Model is used by more than one rate (rates [{models[model]}] and [{i}])");
            }
        }

        var aliases = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < rates.Count; i++)
        {
            ModelRate? rate = rates[i];
            if (rate is null)
            {
                continue;
            }

            foreach (string? alias in rate.Aliases)
            {
                if (string.IsNullOrWhiteSpace(alias))
                {
                    continue;
                }

                if (models.TryGetValue(alias, out int owner))
                {
                    problems.Add(owner == i
                        ? $"{Name(rate, i)}: alias '{alias}' is the rate's own Model"
                        : $"{Name(rate, i)}: alias '{alias}' is the Model of {Name(rates[owner], owner)}");
                }
                else if (!aliases.TryAdd(alias, i))
                {
                    int first = aliases[alias];
                    problems.Add(first == i
                        ? $"{Name(rate, i)}: alias '{alias}' is listed twice"
                        : $"{Name(rate, i)}: alias '{alias}' is also an alias of {Name(rates[first], first)}");
                }
            }
        }
    }

    private static void CheckPrices(string name, string prefix, decimal input, decimal? cachedInput, decimal output, decimal? reasoning, List<string> problems)
    {
        CheckPrice(name, prefix, "InputPerMillion", input, problems);
        CheckPrice(name, prefix, "CachedInputPerMillion", cachedInput, problems);
        CheckPrice(name, prefix, "OutputPerMillion", output, problems);
        CheckPrice(name, prefix, "ReasoningPerMillion", reasoning, problems);
    }

    private static void CheckPrice(string name, string prefix, string property, decimal? price, List<string> problems)
    {
        if (price < 0)
        {
            problems.Add($"{name}: {prefix}{property} is negative ({price.Value.ToString(CultureInfo.InvariantCulture)})");
        }
    }

    private static string Name(ModelRate? rate, int index) =>
        string.IsNullOrWhiteSpace(rate?.Model) ? $"rate [{index}]" : $"rate '{rate.Model}'";

    private static string Format(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
