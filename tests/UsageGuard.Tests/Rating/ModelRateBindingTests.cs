using System.Text;
using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using NUnit.Framework;

namespace UsageGuard.Tests.Rating;

/// <summary>The appsettings example of docs/rating.md binds, builds a card, and prices as the page says.</summary>
[TestFixture]
public sealed class ModelRateBindingTests
{
    private static readonly string DocsDirectory = Path.GetFullPath(Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", "..", "..", "docs"));

    [Test]
    public void Bind_TheDocumentedAppSettings_BuildsACardThatPricesAsDocumented()
    {
        List<ModelRate> rates = BindDocumentedRates();
        var card = RateCard.Create(rates);

        rates.Should().HaveCount(4);
        rates[0].Aliases.Should().Equal("gpt-4o-2024-08-06", "chatgpt-4o-latest");
        rates[0].CostBasis!.Currency.Should().Be("USD");
        rates[1].Tiers.Should().HaveCount(2);
        rates[1].Tiers[1].UpToTokens.Should().Be(100_000_000);
        rates[2].CachedInputPerMillion.Should().BeNull();

        card.TryResolve("chatgpt-4o-latest", out ResolvedRate gpt4o).Should().BeTrue();
        gpt4o.Match.Should().Be(RateMatch.Alias);
        Pricing.Price(gpt4o, new TokenUsage(1_234, 0, 567, 0), 0, 6).ToDecimal().Should().Be(0.008755m);

        // 10,000,000 tokens at 0.20, 90,000,000 at 0.18, then 0.15: 1,000,000 tokens starting at 9,500,000 cost
        // 500,000 × 0.20 + 500,000 × 0.18 = 0.19.
        card.TryResolve("gpt-4o-mini-2024-07-18", out ResolvedRate mini).Should().BeTrue();
        Pricing.Price(mini, new TokenUsage(1_000_000, 0, 0, 0), 9_500_000, 6).ToDecimal().Should().Be(0.19m);
        Pricing.Price(mini, new TokenUsage(1_000_000, 0, 0, 0), 100_000_000, 6).ToDecimal().Should().Be(0.15m);
    }

    private static List<ModelRate> BindDocumentedRates()
    {
        string page = File.ReadAllText(Path.Combine(DocsDirectory, "rating.md"));
        Match json = Regex.Match(page, "## In appsettings.json\\s+```json\\n(?<json>.*?)```", RegexOptions.Singleline);
        json.Success.Should().BeTrue("docs/rating.md has an appsettings example");

        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(json.Groups["json"].Value));
        IConfiguration configuration = new ConfigurationBuilder().AddJsonStream(stream).Build();
        return configuration.GetSection("UsageGuard:ModelRates").Get<List<ModelRate>>() ?? [];
    }
}
