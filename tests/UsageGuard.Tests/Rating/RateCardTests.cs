using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Rating;

[TestFixture]
public sealed class RateCardTests
{
    private static ModelRate Rate(string model, decimal input = 1m, params string[] aliases)
    {
        var rate = new ModelRate { Model = model, InputPerMillion = input, OutputPerMillion = input * 4 };
        foreach (string alias in aliases)
        {
            rate.Aliases.Add(alias);
        }

        return rate;
    }

    private static RateCard Standard() => RateCard.Create(
    [
        Rate("gpt-4o", 2.5m),
        Rate("gpt-4o*", 2m),
        Rate("gpt-*", 1m),
        Rate("gpt-4o-mini", 0.15m, "gpt-4o-mini-2024-07-18", "4o-mini"),
    ]);

    [TestCase("gpt-4o", "gpt-4o", RateMatch.Exact)]
    [TestCase("gpt-4o-mini", "gpt-4o-mini", RateMatch.Exact)]
    [TestCase("gpt-4o-mini-2024-07-18", "gpt-4o-mini", RateMatch.Alias)]
    [TestCase("4o-mini", "gpt-4o-mini", RateMatch.Alias)]
    [TestCase("gpt-4o-2024-08-06", "gpt-4o*", RateMatch.Wildcard)]
    [TestCase("gpt-4o-mini-2025", "gpt-4o*", RateMatch.Wildcard)]
    [TestCase("gpt-4", "gpt-*", RateMatch.Wildcard)]
    [TestCase("gpt-", "gpt-*", RateMatch.Wildcard)]
    public void TryResolve_ExactBeatsAliasBeatsLongestWildcard(string modelId, string expectedModel, RateMatch expectedMatch)
    {
        Standard().TryResolve(modelId, out ResolvedRate rate).Should().BeTrue();

        rate.Model.Should().Be(expectedModel);
        rate.Match.Should().Be(expectedMatch);
        rate.CreditType.Should().Be(UsageGuardDefaults.CreditType);
    }

    [TestCase("GPT-4o")]
    [TestCase("gpt")]
    [TestCase("claude-3-5-sonnet")]
    [TestCase("")]
    public void TryResolve_NoMatchOrDifferentCase_ReturnsFalseAndTheDefault(string modelId)
    {
        Standard().TryResolve(modelId, out ResolvedRate rate).Should().BeFalse();

        rate.Should().Be(default(ResolvedRate));
        rate.Match.Should().Be(RateMatch.None);
        rate.Model.Should().BeEmpty();
    }

    [Test]
    public void TryResolve_StarAlone_CatchesEveryIdOtherRatesMiss()
    {
        var card = RateCard.Create([Rate("*", 9m), Rate("claude-*", 3m)]);

        card.TryResolve("claude-3-5-haiku", out ResolvedRate claude).Should().BeTrue();
        card.TryResolve("mistral-large", out ResolvedRate other).Should().BeTrue();
        card.TryResolve(string.Empty, out ResolvedRate empty).Should().BeTrue();

        claude.Model.Should().Be("claude-*");
        other.Model.Should().Be("*");
        empty.Model.Should().Be("*");
    }

    [Test]
    public void TryResolve_NullId_Throws()
    {
        Action act = () => Standard().TryResolve(null!, out _);
        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("modelId");
    }

    [Test]
    public void Empty_ResolvesNothing()
    {
        RateCard.Empty.TryResolve("gpt-4o", out _).Should().BeFalse();
        RateCard.Create([]).TryResolve("gpt-4o", out _).Should().BeFalse();
    }

    [Test]
    public void Create_CopiesTheRates_SoLaterChangesDoNotLeakIntoTheCard()
    {
        var rate = Rate("gpt-4o", 2.5m, "gpt-4o-latest");
        var card = RateCard.Create([rate]);

        rate.Model = "changed";
        rate.InputPerMillion = 1_000m;
        rate.Aliases.Clear();

        card.TryResolve("gpt-4o", out ResolvedRate resolved).Should().BeTrue();
        card.TryResolve("gpt-4o-latest", out _).Should().BeTrue();
        card.TryResolve("changed", out _).Should().BeFalse();
        Pricing.Price(resolved, new TokenUsage(1_000_000, 0, 0, 0), 0, 6).ToDecimal().Should().Be(2.5m);
    }

    [Test]
    public void WithOverrides_ContractIsSearchedCompletelyBeforeTheBase()
    {
        var standard = Standard();
        var contract = RateCard.Create(
        [
            new ModelRate { Model = "gpt-4o*", CreditType = "usd", InputPerMillion = 1.8m },
            new ModelRate { Model = "acme-router", CreditType = "usd", InputPerMillion = 0.5m, Aliases = { "gpt-4" } },
        ]);

        var layered = standard.WithOverrides(contract);

        // The contract's wildcard wins over the base's exact id and alias.
        Resolve(layered, "gpt-4o").Should().Be(("gpt-4o*", RateMatch.Wildcard, "usd"));
        Resolve(layered, "gpt-4o-mini").Should().Be(("gpt-4o*", RateMatch.Wildcard, "usd"));
        // The contract's alias wins over the base's wildcard.
        Resolve(layered, "gpt-4").Should().Be(("acme-router", RateMatch.Alias, "usd"));
        // What the contract does not match falls through to the base.
        Resolve(layered, "4o-mini").Should().Be(("gpt-4o-mini", RateMatch.Alias, "credits"));
        Resolve(layered, "gpt-3.5-turbo").Should().Be(("gpt-*", RateMatch.Wildcard, "credits"));
        layered.TryResolve("claude-3", out _).Should().BeFalse();

        // Neither card changed.
        Resolve(standard, "gpt-4o").Should().Be(("gpt-4o", RateMatch.Exact, "credits"));
        contract.TryResolve("gpt-3.5-turbo", out _).Should().BeFalse();
    }

    [Test]
    public void WithOverrides_OfALayeredCard_KeepsEveryLayerInOrder()
    {
        var standard = RateCard.Create([Rate("a", 1m), Rate("b", 1m), Rate("c", 1m)]);
        var region = RateCard.Create([Rate("b", 2m), Rate("c", 2m)]);
        var customer = RateCard.Create([Rate("c", 3m)]);

        var fromLayeredContract = standard.WithOverrides(region.WithOverrides(customer));
        var fromLayeredBase = standard.WithOverrides(region).WithOverrides(customer);

        foreach (var card in new[] { fromLayeredContract, fromLayeredBase })
        {
            InputPerMillion(card, "a").Should().Be(1m);
            InputPerMillion(card, "b").Should().Be(2m);
            InputPerMillion(card, "c").Should().Be(3m);
        }
    }

    [Test]
    public void WithOverrides_Null_Throws()
    {
        Action act = () => Standard().WithOverrides(null!);
        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("overrides");
    }

    [Test]
    public void Create_Null_Throws()
    {
        Action act = () => RateCard.Create(null!);
        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("rates");
    }

    [Test]
    public void Create_UnknownTierMode_IsAProblemNamingTheRate()
    {
        ModelRate rate = Rate("m");
        rate.TierMode = (TierMode)7;

        Action act = () => RateCard.Create([rate]);

        act.Should().Throw<RateCardException>().Which.Problems.Should().Equal("rate 'm': tier mode 7 is not Graduated or Volume");
    }

    [Test]
    public void Create_ManyProblems_ReportsEveryOneAtOnceNamingItsRate()
    {
        var negative = new ModelRate
        {
            Model = "neg",
            InputPerMillion = -1m,
            CachedInputPerMillion = -0.5m,
            OutputPerMillion = -2m,
            ReasoningPerMillion = -3m,
            CreditType = " ",
            CostBasis = new VendorCost { InputPerMillion = -4m, OutputPerMillion = 1m },
        };
        var tiers = Rate("tiered");
        tiers.Tiers.Add(new RateTier { UpToTokens = 1_000 });
        tiers.Tiers.Add(new RateTier { UpToTokens = 1_000 });
        tiers.Tiers.Add(new RateTier { UpToTokens = null });
        tiers.Tiers.Add(new RateTier { UpToTokens = 500, OutputPerMillion = -1m });
        tiers.Tiers.Add(null!);
        var zeroTier = Rate("zero-tier");
        zeroTier.Tiers.Add(new RateTier { UpToTokens = 0 });

        ModelRate[] rates =
        [
            negative,
            Rate("gpt-*x"),
            Rate("gpt**"),
            Rate(string.Empty),
            null!,
            Rate("dup"),
            Rate("dup"),
            Rate("gpt-4o", 1m, "gpt-4o"),
            Rate("gpt-4o-mini", 1m, "dup", "4o", "4o", "mini*", " "),
            Rate("o1", 1m, "4o"),
            tiers,
            zeroTier,
            Rate(new string('m', UsageGuardDefaults.MaxIdLength + 1)),
        ];

        Action act = () => RateCard.Create(rates);

        string longName = $"rate '{new string('m', UsageGuardDefaults.MaxIdLength + 1)}'";
        string[] expected =
        [
            "rate 'neg': CreditType is required",
            "rate 'neg': InputPerMillion is negative (-1)",
            "rate 'neg': CachedInputPerMillion is negative (-0.5)",
            "rate 'neg': OutputPerMillion is negative (-2)",
            "rate 'neg': ReasoningPerMillion is negative (-3)",
            "rate 'neg': CostBasis.Currency is required",
            "rate 'neg': CostBasis.InputPerMillion is negative (-4)",
            "rate 'gpt-*x': Model has a '*' that is not its last character; a wildcard family ends in a single '*', such as 'gpt-4o*'",
            "rate 'gpt**': Model has a '*' that is not its last character; a wildcard family ends in a single '*', such as 'gpt-4o*'",
            "rate [3]: Model is required",
            "rate [4] is null",
            "rate 'gpt-4o-mini': alias 'mini*' contains '*'; an alias is an exact model id",
            "rate 'gpt-4o-mini': Aliases[4] is empty",
            "rate 'tiered': Tiers[1].UpToTokens (1,000) is not above the previous tier's (1,000); tiers must be strictly ascending",
            "rate 'tiered': Tiers[2] is unbounded (no UpToTokens) but is not the last tier",
            "rate 'tiered': Tiers[3].UpToTokens (500) is not above the previous tier's (1,000); tiers must be strictly ascending",
            "rate 'tiered': Tiers[3].OutputPerMillion is negative (-1)",
            "rate 'tiered': Tiers[4] is null",
            "rate 'zero-tier': Tiers[0].UpToTokens is not positive (0)",
            $"{longName}: Model is longer than 256 characters",
            "rate 'dup': Model is used by more than one rate (rates [5] and [6])",
            "rate 'gpt-4o': alias 'gpt-4o' is the rate's own Model",
            "rate 'gpt-4o-mini': alias 'dup' is the Model of rate 'dup'",
            "rate 'gpt-4o-mini': alias '4o' is listed twice",
            "rate 'o1': alias '4o' is also an alias of rate 'gpt-4o-mini'",
        ];

        var exception = act.Should().Throw<RateCardException>().Which;
        exception.Problems.Should().Equal(expected);
        exception.Message.Should().StartWith("The rate card is invalid (25 problems); fix the model rates:");
        foreach (string problem in expected)
        {
            exception.Message.Should().Contain(problem);
        }

        exception.Should().BeAssignableTo<UsageGuardException>();
    }

    [Test]
    public void Create_OneProblem_SaysProblemInTheSingular()
    {
        Action act = () => RateCard.Create([new ModelRate { Model = "gpt-4o", InputPerMillion = -1m }]);

        act.Should().Throw<RateCardException>()
            .WithMessage("The rate card is invalid (1 problem); fix the model rates:*rate 'gpt-4o': InputPerMillion is negative (-1)")
            .Which.Problems.Should().ContainSingle();
    }

    [Test]
    public void Create_ExactIdAndWildcardOfTheSameText_AreDifferentModels()
    {
        var card = RateCard.Create([Rate("gpt-4o", 1m), Rate("gpt-4o*", 2m)]);

        Resolve(card, "gpt-4o").Match.Should().Be(RateMatch.Exact);
        Resolve(card, "gpt-4o-x").Match.Should().Be(RateMatch.Wildcard);
    }

    [Test]
    public void Create_ValidTiers_AreAccepted()
    {
        var rate = Rate("tiered");
        rate.Tiers.Add(new RateTier { UpToTokens = 1 });
        rate.Tiers.Add(new RateTier { UpToTokens = long.MaxValue });
        rate.Tiers.Add(new RateTier());

        RateCard.Create([rate]).TryResolve("tiered", out _).Should().BeTrue();
    }

    private static (string Model, RateMatch Match, string CreditType) Resolve(RateCard card, string modelId)
    {
        card.TryResolve(modelId, out ResolvedRate rate).Should().BeTrue(modelId + " should resolve");
        return (rate.Model, rate.Match, rate.CreditType);
    }

    private static decimal InputPerMillion(RateCard card, string modelId)
    {
        card.TryResolve(modelId, out ResolvedRate rate).Should().BeTrue();
        return Pricing.Price(rate, new TokenUsage(1_000_000, 0, 0, 0), 0, 6).ToDecimal();
    }
}
