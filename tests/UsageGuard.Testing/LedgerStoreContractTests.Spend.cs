using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Testing;

/// <summary>Spend queries on every store, against a brute-force sum over the same settlements.</summary>
public abstract partial class LedgerStoreContractTests
{
    private static readonly string[] SpendPaths = ["", "org", "org/eng", "org/eng/search", "org/eng/search/agent:a", "org/sales", "org/sales/emea", "guest"];
    private static readonly string?[] SpendModels = [null, "gpt-x", "gpt-x-mini", "claude-y"];
    private static readonly string?[] SpendFeatures = [null, "chat", "search"];

    /// <summary>Settlement entries spread over 40 days and three customers, each with a random path, model, feature and amounts.</summary>
    private static LedgerEntry[] SpendChain(int count, int seed, long firstSequence = 1, LedgerHash? previous = null)
    {
        var random = new Random(seed);
        using var hasher = new LedgerEntryHasher();
        var entries = new LedgerEntry[count];
        LedgerHash prev = previous ?? LedgerHash.Genesis;
        for (int i = 0; i < count; i++)
        {
            string path = SpendPaths[random.Next(SpendPaths.Length)];
            bool tokens = random.Next(3) > 0;
            var record = new SettlementRecord
            {
                AdmittedAt = T0,
                Charged = CreditAmount.FromUnits(random.Next(0, 5_000_000), 6),
                Overdrawn = CreditAmount.FromUnits(random.Next(4) == 0 ? random.Next(1, 100_000) : 0, 6),
                Overage = CreditAmount.FromUnits(random.Next(5) == 0 ? random.Next(1, 50_000) : 0, 6),
                Waived = CreditAmount.FromUnits(0, 6),
                Tokens = tokens ? new TokenUsage(random.Next(5_000), random.Next(100), random.Next(2_000), random.Next(50)) : null,
                SubjectPath = path.Length == 0 ? null : path,
                Price = random.Next(2) == 0 ? null : random.Next(1, 1_000_000) / 10_000_000m,
                VendorCost = tokens && random.Next(3) > 0 ? random.Next(1, 1_000_000) / 1_000_000_000m : null,
                CostCurrency = "USD",
            };
            var e = new LedgerEntry
            {
                Sequence = firstSequence + i,
                Timestamp = T0.AddDays(random.Next(40)).AddMinutes(random.Next(1_440)).ToOffset(TimeSpan.FromHours(random.Next(-8, 9))),
                Kind = LedgerEntryKind.Settled,
                CustomerId = "c" + random.Next(3),
                CreditType = random.Next(6) == 0 ? "usd" : "credits",
                Amount = CreditAmount.FromUnits(0, 6),
                BalanceBefore = CreditAmount.FromUnits(0, 6),
                BalanceAfter = CreditAmount.FromUnits(0, 6),
                Subject = path.Length == 0 ? null : path[(path.LastIndexOf('/') + 1)..],
                Model = SpendModels[random.Next(SpendModels.Length)],
                Feature = SpendFeatures[random.Next(SpendFeatures.Length)],
                ReservationId = i,
                Settlement = record,
                PreviousHash = prev,
            };
            entries[i] = e with { Hash = hasher.Compute(e, prev) };
            prev = entries[i].Hash;
        }

        return entries;
    }

    /// <summary>The answer computed the slow, obvious way: every event, every node of its path, LINQ group-by.</summary>
    private static List<SpendRow> BruteForce(IEnumerable<LedgerEntry> entries, SpendQuery q)
    {
        var expanded = new List<(LedgerEntry Entry, string? Node)>();
        foreach (LedgerEntry e in entries)
        {
            DateOnly day = DateOnly.FromDateTime(e.Timestamp.UtcDateTime);
            if (day < q.From || day >= q.To || (q.CustomerId is not null && e.CustomerId != q.CustomerId))
            {
                continue;
            }

            string? path = e.Settlement!.Value.SubjectPath;
            if ((q.GroupBy & SpendGrouping.Subject) == 0 || path is null)
            {
                expanded.Add((e, null));
                continue;
            }

            string[] parts = path.Split('/');
            int[] depths = q.SubjectDepth is { } d ? [Math.Min(d, parts.Length)] : [.. Enumerable.Range(1, parts.Length)];
            expanded.AddRange(depths.Select(n => (e, (string?)string.Join('/', parts.Take(n)))));
        }

        bool By(SpendGrouping g) => (q.GroupBy & g) != 0;
        return [.. expanded
            .GroupBy(x => (
                x.Entry.CreditType,
                Customer: By(SpendGrouping.Customer) ? x.Entry.CustomerId : null,
                Day: By(SpendGrouping.Day) ? DateOnly.FromDateTime(x.Entry.Timestamp.UtcDateTime) : (DateOnly?)null,
                x.Node,
                Model: By(SpendGrouping.Model) ? x.Entry.Model : null,
                Feature: By(SpendGrouping.Feature) ? x.Entry.Feature : null))
            .Select(g => new SpendRow
            {
                CreditType = g.Key.CreditType,
                CustomerId = g.Key.Customer,
                Day = g.Key.Day,
                Subject = g.Key.Node,
                Model = g.Key.Model,
                Feature = g.Key.Feature,
                Requests = g.Count(),
                Consumed = CreditAmount.FromUnits(g.Sum(x => x.Entry.Settlement!.Value.Consumed.Units), 6),
                Overage = CreditAmount.FromUnits(g.Sum(x => x.Entry.Settlement!.Value.Overage.Units), 6),
                Tokens = g.Sum(x => x.Entry.Settlement!.Value.Tokens?.TotalTokens ?? 0),
                Price = g.Any(x => x.Entry.Settlement!.Value.Price is not null) ? g.Sum(x => x.Entry.Settlement!.Value.Price ?? 0) : null,
                VendorCost = g.Any(x => x.Entry.Settlement!.Value.VendorCost is not null) ? g.Sum(x => x.Entry.Settlement!.Value.VendorCost ?? 0) : null,
            })
            .OrderBy(r => r.CreditType, StringComparer.Ordinal).ThenBy(r => r.CustomerId, StringComparer.Ordinal).ThenBy(r => r.Day)
            .ThenBy(r => r.Subject, StringComparer.Ordinal).ThenBy(r => r.Model, StringComparer.Ordinal).ThenBy(r => r.Feature, StringComparer.Ordinal)];
    }

    private static IEnumerable<SpendQuery> SpendQueries()
    {
        var from = DateOnly.FromDateTime(T0.UtcDateTime);
        yield return new SpendQuery { From = from, To = from.AddDays(40) };
        yield return new SpendQuery { From = from.AddDays(7), To = from.AddDays(15), CustomerId = "c1", GroupBy = SpendGrouping.Subject };
        yield return new SpendQuery { From = from.AddDays(3), To = from.AddDays(30), GroupBy = SpendGrouping.Subject, SubjectDepth = 2 };
        yield return new SpendQuery { From = from, To = from.AddDays(40), GroupBy = SpendGrouping.Customer };
        yield return new SpendQuery { From = from.AddDays(1), To = from.AddDays(39), GroupBy = SpendGrouping.Model | SpendGrouping.Feature | SpendGrouping.Day };
        yield return new SpendQuery { From = from, To = from.AddDays(40), CustomerId = "c2", GroupBy = SpendGrouping.Customer | SpendGrouping.Subject | SpendGrouping.Model | SpendGrouping.Feature | SpendGrouping.Day };
        yield return new SpendQuery { From = from.AddDays(100), To = from.AddDays(101) };
    }

    [TestCase(11)]
    [TestCase(12)]
    public async Task QuerySpend_MatchesABruteForceSumOverTheSameSettlements_BeforeAndAfterMoreAreAppended(int seed)
    {
        ILedgerStore store = await CreateStoreAsync();
        LedgerEntry[] first = SpendChain(600, seed);
        await store.AppendAsync(new LedgerBatch(first, []));

        foreach (SpendQuery q in SpendQueries())
        {
            (await SpendReports.QueryAsync(store, q)).Should().Equal(BruteForce(first, q), $"query {q.GroupBy} from {q.From} to {q.To} for {q.CustomerId ?? "all"}");
        }

        // The rollup catches up with what was appended after the last query.
        LedgerEntry[] more = SpendChain(300, seed + 1000, first.Length + 1, first[^1].Hash);
        await store.AppendAsync(new LedgerBatch(more.AsMemory(0, 150), []));
        await store.AppendAsync(new LedgerBatch(more.AsMemory(150), []));
        foreach (SpendQuery q in SpendQueries())
        {
            (await SpendReports.QueryAsync(store, q)).Should().Equal(BruteForce(first.Concat(more), q));
        }
    }

    [Test]
    public async Task QuerySpend_BadQueries_AreRefusedNamingWhatIsWrong()
    {
        ILedgerStore store = await CreateStoreAsync();
        var day = new DateOnly(2026, 8, 1);
        await FluentActions.Awaiting(() => SpendReports.QueryAsync(store, new SpendQuery { From = day, To = day }).AsTask()).Should().ThrowAsync<ArgumentException>().WithMessage("*must end after it starts*");
        await FluentActions.Awaiting(() => SpendReports.QueryAsync(store, new SpendQuery { From = day, To = day.AddDays(1), SubjectDepth = 0 }).AsTask()).Should().ThrowAsync<ArgumentException>().WithMessage("*SubjectDepth*");
        await FluentActions.Awaiting(() => SpendReports.QueryAsync(store, new SpendQuery { From = day, To = day.AddDays(1), CustomerId = "" }).AsTask()).Should().ThrowAsync<ArgumentException>().WithMessage("*CustomerId*");
    }
}
