using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Rating;

/// <summary>Resolution and pricing allocate nothing in the steady state (a count of bytes, not a timing).</summary>
[TestFixture]
public sealed class RatingAllocationTests
{
    [Test]
    public void TryResolveAndPrice_SteadyState_AllocateNothing()
    {
        var tiered = new ModelRate { Model = "gpt-4o-mini*", InputPerMillion = 0.15m, OutputPerMillion = 0.6m, Aliases = { "4o-mini" } };
        tiered.Tiers.Add(new RateTier { UpToTokens = 1_000_000, InputPerMillion = 0.2m, OutputPerMillion = 0.8m });
        var card = RateCard.Create(
        [
            new ModelRate { Model = "gpt-4o", InputPerMillion = 2.5m, OutputPerMillion = 10m },
            new ModelRate { Model = "gpt-*", InputPerMillion = 1m, OutputPerMillion = 4m },
            tiered,
        ]).WithOverrides(RateCard.Create([new ModelRate { Model = "claude-*", InputPerMillion = 3m, OutputPerMillion = 15m }]));
        string[] ids = ["gpt-4o", "4o-mini", "gpt-4o-mini-2024-07-18", "gpt-3.5-turbo", "claude-3-5-sonnet", "unknown"];
        var usage = new TokenUsage(1_234, 100, 567, 89);

        long total = Run(card, ids, usage);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            total += Run(card, ids, usage);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        allocated.Should().Be(0);
        total.Should().BePositive();
    }

    private static long Run(RateCard card, string[] ids, TokenUsage usage)
    {
        long units = 0;
        foreach (string id in ids)
        {
            if (card.TryResolve(id, out ResolvedRate rate))
            {
                units += Pricing.Price(rate, usage, 999_000, 6).Units;
            }
        }

        return units + Pricing.OveragePrice(1_234, 0.0002m, 6).Units;
    }
}
