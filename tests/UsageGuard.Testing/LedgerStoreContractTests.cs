using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Testing;

/// <summary>The behaviour every <see cref="ILedgerStore"/> must have; each store's test project derives one fixture from it.</summary>
public abstract partial class LedgerStoreContractTests
{
    private static readonly DateTimeOffset T0 = new(2026, 8, 1, 0, 0, 0, TimeSpan.Zero);

    protected abstract Task<ILedgerStore> CreateStoreAsync();

    [Test]
    public async Task Append_ThenRead_ReturnsEntriesInSequenceAfterAPosition()
    {
        ILedgerStore store = await CreateStoreAsync();
        LedgerEntry[] chain = Chain(5);

        await store.AppendAsync(new LedgerBatch(chain.AsMemory(0, 2), []));
        await store.AppendAsync(new LedgerBatch(chain.AsMemory(2, 3), []));

        (await Read(store, 0)).Should().Equal(chain);
        (await Read(store, 3)).Select(e => e.Sequence).Should().Equal(4, 5);
    }

    [Test]
    public async Task Append_EntriesWhoseOptionalFieldsComeAndGo_ReadBackExactly()
    {
        // Null, the same instance again, an equal string of another instance, empty, other text: a store that reuses what it
        // bound for the entry before (or caches by reference) must still store each entry's own values.
        string?[] texts = [null, "acme/eng", new string("acme/eng".AsSpan()), string.Empty, "ü-ñ/agent:r", null];
        var random = new Random(5);
        using var hasher = new LedgerEntryHasher();
        var entries = new LedgerEntry[200];
        LedgerHash previous = LedgerHash.Genesis;
        for (int i = 0; i < entries.Length; i++)
        {
            string? Pick() => texts[random.Next(texts.Length)];
            var e = new LedgerEntry
            {
                Sequence = i + 1,
                Timestamp = T0.AddSeconds(i),
                Kind = LedgerEntryKind.Overage,
                CustomerId = random.Next(2) == 0 ? "acme" : new string("acme".AsSpan()),
                CreditType = random.Next(3) == 0 ? "usd" : "credits",
                BlockId = random.Next(2) == 0 ? null : new Guid(i, 0, 0, new byte[8]),
                Amount = CreditAmount.FromUnits(i, 6),
                BalanceBefore = CreditAmount.FromUnits(i, 6),
                BalanceAfter = CreditAmount.FromUnits(0, 6),
                Subject = Pick(),
                Feature = Pick(),
                Model = Pick(),
                SessionId = Pick(),
                RequestId = Pick(),
                IdempotencyKey = Pick(),
                ReservationId = random.Next(2) == 0 ? null : i,
                Reason = Pick(),
                PreviousHash = previous,
            };
            entries[i] = e with { Hash = hasher.Compute(e, previous) };
            previous = entries[i].Hash;
        }

        ILedgerStore store = await CreateStoreAsync();
        await store.AppendAsync(new LedgerBatch(entries.AsMemory(0, 120), []));
        await store.AppendAsync(new LedgerBatch(entries.AsMemory(120), []));

        (await Read(store, 0)).Should().Equal(entries);
    }

    [Test]
    public async Task Append_EntriesWithCatalogVersionUsageAndBudgetUsage_ReadAndQueryBackExactly()
    {
        ILedgerStore store = await CreateStoreAsync();
        LedgerEntry[] entries = CatalogAndUsageChain();

        await store.AppendAsync(new LedgerBatch(entries.AsMemory(0, 3), []));
        await store.AppendAsync(new LedgerBatch(entries.AsMemory(3), []));

        List<LedgerEntry> read = await Read(store, 0);
        read.Should().Equal(entries);
        read[1].Usage!.Value.WindowStart.Offset.Should().Be(TimeSpan.FromHours(-7), "the window's instants keep their offset");
        read[1].Usage!.Value.WindowEnd.Offset.Should().Be(TimeSpan.FromHours(-7));
        (await store.QueryAsync(new LedgerQuery { CustomerId = "acme" })).Should().Equal(entries.Where(e => e.CustomerId == "acme"));
        (await store.QueryAsync(new LedgerQuery { CustomerId = "acme", Feature = "chat", AfterSequence = 1 })).Should().Equal(entries[1], entries[5]);
        (await store.QueryAsync(new LedgerQuery { CustomerId = "acme", Kind = LedgerEntryKind.Overage })).Should().Equal(entries[3], entries[6]);
        (await store.QueryAsync(new LedgerQuery { CustomerId = "acme", Kind = LedgerEntryKind.Budgeted })).Should().Equal(entries[7]);
        (await store.QueryAsync(new LedgerQuery { CustomerId = "globex", Kind = LedgerEntryKind.Budgeted })).Should().BeEmpty();
        read[3].Budgeted!.Value.Tags.Should().Equal("beta", "eu-west");
        read[3].Budgeted!.Value.Credits.Should().Be(CreditAmount.FromUnits(9, 6));

        // Sent again after an unacknowledged commit: recognised as the same entries, not applied twice.
        await store.AppendAsync(new LedgerBatch(entries.AsMemory(4), []));
        (await Read(store, 0)).Should().Equal(entries);
    }

    [Test]
    public async Task Snapshots_WithUsage_RoundTrip()
    {
        ILedgerStore store = await CreateStoreAsync();
        LedgerEntry[] chain = Chain(2);
        await store.AppendAsync(new LedgerBatch(chain, []));
        UsageSnapshot[] usage =
        [
            new() { CustomerId = "acme", Usage = new MeteredUsage("feature:chat", 41, UsageWindow.Month, T0, T0.AddMonths(1)) },
            new() { CustomerId = "acme", Usage = new MeteredUsage("tokens:gpt-x", 1_234_567_890_123, UsageWindow.Hour, T0.ToOffset(TimeSpan.FromHours(5.5)), T0.AddHours(1)) },
            new() { CustomerId = "globex", Usage = new MeteredUsage("feature:chat", 0, UsageWindow.Year, T0, T0.AddYears(1)) },
        ];

        await store.SaveSnapshotAsync(new LedgerSnapshot { Sequence = 2, LastHash = chain[1].Hash, Wallets = [], Usage = usage });

        LedgerSnapshot loaded = (await store.LoadLatestSnapshotAsync())!;
        loaded.Usage.Select(u => u.CustomerId).Should().Equal("acme", "acme", "globex");
        loaded.Usage.Select(u => u.Usage).Should().Equal(usage.Select(u => u.Usage));
        loaded.Usage[1].Usage.WindowStart.Offset.Should().Be(TimeSpan.FromHours(5.5));
    }

    [Test]
    public async Task Append_WithAGap_AppliesNothingOfTheBatch()
    {
        ILedgerStore store = await CreateStoreAsync();
        LedgerEntry[] chain = Chain(4);
        await store.AppendAsync(new LedgerBatch(chain.AsMemory(0, 1), [Record("k1")]));

        Func<Task> gap = () => store.AppendAsync(new LedgerBatch(new[] { chain[1], chain[3] }, [])).AsTask();

        await gap.Should().ThrowAsync<InvalidOperationException>();
        (await Read(store, 0)).Should().HaveCount(1);
        (await store.FindIdempotencyRecordAsync("acme", "k1"))!.Outcome.Should().Be("{}");
    }

    [Test]
    public async Task Append_ABatchAlreadyCommitted_AppliesOnlyItsNewEntries()
    {
        ILedgerStore store = await CreateStoreAsync();
        LedgerEntry[] chain = Chain(4);
        await store.AppendAsync(new LedgerBatch(chain.AsMemory(0, 2), [Record("k1")]));

        // A writer that lost the acknowledgement of a commit sends the batch again, now with more entries behind it.
        await store.AppendAsync(new LedgerBatch(chain.AsMemory(0, 2), [Record("k1")]));
        await store.AppendAsync(new LedgerBatch(chain.AsMemory(1, 3), []));

        (await Read(store, 0)).Should().Equal(chain);
    }

    [Test]
    public async Task Append_ADifferentEntryUnderAStoredSequence_IsRefusedWhole()
    {
        ILedgerStore store = await CreateStoreAsync();
        LedgerEntry[] chain = Chain(3);
        await store.AppendAsync(new LedgerBatch(chain.AsMemory(0, 2), []));
        LedgerEntry[] forged = [chain[1] with { Hash = chain[0].Hash }, chain[2]];

        Func<Task> fork = () => store.AppendAsync(new LedgerBatch(forged, [])).AsTask();

        await fork.Should().ThrowAsync<LedgerCorruptedException>();
        (await Read(store, 0)).Should().Equal(chain[0], chain[1]);
    }

    [Test]
    public async Task PruneIdempotencyRecords_DeletesOnlyThoseCreatedBefore()
    {
        ILedgerStore store = await CreateStoreAsync();
        await store.AppendAsync(new LedgerBatch(Chain(1), [Record("old", T0.AddDays(-40)), Record("new")]));

        await store.PruneIdempotencyRecordsAsync(T0.AddDays(-35));

        (await store.FindIdempotencyRecordAsync("acme", "old")).Should().BeNull();
        (await store.FindIdempotencyRecordAsync("acme", "new")).Should().NotBeNull();
    }

    [Test]
    public async Task Append_AKeyAgain_ReplacesTheExpiredRecord()
    {
        ILedgerStore store = await CreateStoreAsync();
        await store.AppendAsync(new LedgerBatch(Chain(1), [Record("k1", T0.AddDays(-40))]));

        await store.AppendAsync(new LedgerBatch(Chain(2).AsMemory(1), [Record("k1")]));

        (await store.FindIdempotencyRecordAsync("acme", "k1"))!.CreatedAt.Should().Be(T0);
    }

    [Test]
    public async Task Query_FiltersByCustomerAndAttributionAndPages()
    {
        ILedgerStore store = await CreateStoreAsync();
        LedgerEntry[] chain = Chain(6);
        await store.AppendAsync(new LedgerBatch(chain, []));

        var page1 = await store.QueryAsync(new LedgerQuery { CustomerId = "acme", Limit = 2 });
        var page2 = await store.QueryAsync(new LedgerQuery { CustomerId = "acme", Limit = 2, AfterSequence = page1[^1].Sequence });
        var byModel = await store.QueryAsync(new LedgerQuery { CustomerId = "acme", Model = "m1" });
        var byTime = await store.QueryAsync(new LedgerQuery { CustomerId = "acme", From = T0.AddMinutes(2), To = T0.AddMinutes(4) });

        page1.Select(e => e.Sequence).Should().Equal(1, 3);
        page2.Select(e => e.Sequence).Should().Equal(5);
        byModel.Should().OnlyContain(e => e.Model == "m1" && e.CustomerId == "acme");
        byTime.Select(e => e.Sequence).Should().Equal(3);
    }

    [Test]
    public async Task Snapshots_AndIdempotencyRecords_RoundTrip()
    {
        ILedgerStore store = await CreateStoreAsync();
        (await store.LoadLatestSnapshotAsync()).Should().BeNull();
        LedgerEntry[] chain = Chain(3);
        await store.AppendAsync(new LedgerBatch(chain, [Record("k1"), Record("k2", T0.AddDays(-40))]));
        var snapshot = new LedgerSnapshot { Sequence = 3, LastHash = chain[2].Hash, Wallets = [] };
        await store.SaveSnapshotAsync(snapshot);

        (await store.LoadLatestSnapshotAsync())!.Sequence.Should().Be(3);
        (await store.FindIdempotencyRecordAsync("acme", "k1"))!.Outcome.Should().Be("{}");
        (await store.FindIdempotencyRecordAsync("globex", "k1")).Should().BeNull();
        var recent = new List<IdempotencyRecord>();
        await foreach (IdempotencyRecord r in store.ReadIdempotencyRecordsAsync(T0.AddDays(-35)))
        {
            recent.Add(r);
        }

        recent.Select(r => r.Key).Should().Equal("k1");
    }

    private static IdempotencyRecord Record(string key, DateTimeOffset? at = null) =>
        new() { CustomerId = "acme", Key = key, Fingerprint = "f", CreatedAt = at ?? T0, Outcome = "{}" };

    private static async Task<List<LedgerEntry>> Read(ILedgerStore store, long after)
    {
        var list = new List<LedgerEntry>();
        await foreach (LedgerEntry e in store.ReadAsync(after))
        {
            list.Add(e);
        }

        return list;
    }

    /// <summary>
    /// Entries of the kinds and fields added with usage metering (catalog version on any kind, usage, overdraft write-offs),
    /// between entries without them, so a store that reuses what it bound for the entry before must still store each entry's own.
    /// </summary>
    private static LedgerEntry[] CatalogAndUsageChain()
    {
        TimeSpan offset = TimeSpan.FromHours(-7);
        var day = new MeteredUsage("feature:chat", 3, UsageWindow.Day, new DateTimeOffset(2026, 8, 1, 0, 0, 0, offset), new DateTimeOffset(2026, 8, 2, 0, 0, 0, offset));
        var tokens = new MeteredUsage("tokens:gpt-x", 12_000, UsageWindow.Month, T0, T0.AddMonths(1));
        LedgerEntry[] entries =
        [
            new() { Kind = LedgerEntryKind.Settle, BlockId = new Guid(1, 0, 0, new byte[8]), Amount = CreditAmount.FromUnits(-5, 6), CatalogVersion = "0123456789abcdef", Feature = "chat" },
            new() { Kind = LedgerEntryKind.Usage, Amount = CreditAmount.FromUnits(0, 6), CatalogVersion = "0123456789abcdef", Feature = "chat", Usage = day },
            new() { Kind = LedgerEntryKind.Usage, Amount = CreditAmount.FromUnits(0, 6), Usage = tokens, CustomerId = "globex" },
            new() { Kind = LedgerEntryKind.Overage, Amount = CreditAmount.FromUnits(2, 6), Budgeted = new BudgetedUsage(T0.AddMinutes(-3), CreditAmount.FromUnits(9, 6), 1_500, ["beta", "eu-west"]) },
            new() { Kind = LedgerEntryKind.OverdraftWriteOff, Amount = CreditAmount.FromUnits(7, 6), CatalogVersion = "fedcba9876543210" },
            new() { Kind = LedgerEntryKind.Usage, Amount = CreditAmount.FromUnits(0, 6), CatalogVersion = "fedcba9876543210", Feature = "chat", Usage = new MeteredUsage(day.Meter, 4, day.Window, day.WindowStart, day.WindowEnd) },
            new() { Kind = LedgerEntryKind.Overage, Amount = CreditAmount.FromUnits(1, 6) },
            new() { Kind = LedgerEntryKind.Budgeted, Amount = CreditAmount.FromUnits(0, 6), SessionId = "run-1", Budgeted = new BudgetedUsage(T0.ToOffset(TimeSpan.FromHours(2)), CreditAmount.FromUnits(0, 6), 0, null) },
            new()
            {
                Kind = LedgerEntryKind.Settle, BlockId = new Guid(2, 0, 0, new byte[8]), Amount = CreditAmount.FromUnits(-8, 6), ReservationId = 41,
                Budgeted = new BudgetedUsage(T0, CreditAmount.FromUnits(8, 6), 30, null),
                Settlement = new SettlementRecord
                {
                    AdmittedAt = T0.AddSeconds(-2), Charged = CreditAmount.FromUnits(8, 6), Overdrawn = CreditAmount.FromUnits(3, 6),
                    Overage = CreditAmount.FromUnits(1, 6), Waived = CreditAmount.FromUnits(0, 6), Tokens = new TokenUsage(10, 5, 12, 3), Estimated = true,
                    AnsweredModel = "gpt-x-mini", SubjectPath = "org/eng/search", Price = 0.000016m, VendorCost = 0.0000123456m, CostCurrency = "EUR",
                },
            },
            new() { Kind = LedgerEntryKind.Settled, Amount = CreditAmount.FromUnits(0, 6), Settlement = new SettlementRecord { AdmittedAt = T0, Charged = CreditAmount.FromUnits(0, 6), Overdrawn = CreditAmount.FromUnits(0, 6), Overage = CreditAmount.FromUnits(0, 6), Waived = CreditAmount.FromUnits(0, 6) } },
        ];

        using var hasher = new LedgerEntryHasher();
        LedgerHash previous = LedgerHash.Genesis;
        for (int i = 0; i < entries.Length; i++)
        {
            LedgerEntry e = entries[i] with
            {
                Sequence = i + 1,
                Timestamp = T0.AddMinutes(i),
                CustomerId = entries[i].CustomerId ?? "acme",
                CreditType = "credits",
                BalanceBefore = CreditAmount.FromUnits(0, 6),
                BalanceAfter = CreditAmount.FromUnits(0, 6),
                PreviousHash = previous,
            };
            entries[i] = e with { Hash = hasher.Compute(e, previous) };
            previous = entries[i].Hash;
        }

        return entries;
    }

    private static LedgerEntry[] Chain(int count)
    {
        using var hasher = new LedgerEntryHasher();
        var entries = new LedgerEntry[count];
        LedgerHash previous = LedgerHash.Genesis;
        for (int i = 0; i < count; i++)
        {
            var e = new LedgerEntry
            {
                Sequence = i + 1,
                Timestamp = T0.AddMinutes(i),
                Kind = LedgerEntryKind.Overage,
                CustomerId = i % 2 == 0 ? "acme" : "globex",
                CreditType = "credits",
                Amount = CreditAmount.FromUnits(i + 1, 6),
                BalanceBefore = CreditAmount.FromUnits(0, 6),
                BalanceAfter = CreditAmount.FromUnits(0, 6),
                Model = i < 3 ? "m1" : "m2",
                PreviousHash = previous,
            };
            entries[i] = e with { Hash = hasher.Compute(e, previous) };
            previous = entries[i].Hash;
        }

        return entries;
    }
}
