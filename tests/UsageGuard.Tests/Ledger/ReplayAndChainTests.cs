using FluentAssertions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests.Ledger;

[TestFixture]
public sealed class ReplayAndChainTests
{
    private static async Task<GuardHarness> BusyLedgerAsync(Action<UsageGuardOptions>? configure = null)
    {
        var h = await GuardHarness.StartAsync(configure);
        var a = await h.GrantAsync("acme", 100, priority: 1, expiresAt: h.Time.GetUtcNow().AddHours(2));
        await h.GrantAsync("acme", 40, priority: 2);
        await h.GrantAsync("globex", 10);
        var held = await h.ReserveAsync("acme", 30, ttl: TimeSpan.FromHours(4));
        await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 20, Feature = "chat" });
        await (await h.ReserveAsync("acme", 5, policy: SettlementPolicy.Overdraft)).Reservation.SettleAsync(9);
        await h.Ledger.AdjustAsync(new CreditAdjustment { CustomerId = "acme", Amount = 3, Reason = "refund" });
        h.Time.Advance(TimeSpan.FromHours(3));
        await held.Reservation.SettleAsync(12);
        await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "globex", Amount = 4 });
        _ = a;
        return h;
    }

    [Test]
    public async Task Restart_RebuildsExactlyTheLiveState()
    {
        await using var h = await BusyLedgerAsync();
        var live = Describe(h);

        await h.RestartAsync();

        Describe(h).Should().Be(live);
        (await h.Ledger.VerifyAsync()).IsValid.Should().BeTrue();
        (await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 1 })).IsAdmitted.Should().BeTrue("the rebuilt wallet serves");
        (await h.Ledger.VerifyAsync()).IsValid.Should().BeTrue("the chain continues across the restart");
    }

    [Test]
    public async Task Restart_FromSnapshotPlusLaterEntries_EqualsFullReplay()
    {
        await using var h = await BusyLedgerAsync(o => o.SnapshotInterval = 3);
        await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 2 });
        await h.Ledger.FlushAsync();
        var snapshot = await h.Store.LoadLatestSnapshotAsync();
        snapshot.Should().NotBeNull();
        var live = Describe(h);

        await h.RestartAsync();

        Describe(h).Should().Be(live);
    }

    [Test]
    public async Task Verify_DetectsEditedDroppedAndReorderedEntries()
    {
        await using var h = await BusyLedgerAsync();
        var entries = (await h.EntriesAsync()).ToList();
        LedgerVerifier.Verify(entries).IsValid.Should().BeTrue();
        LedgerVerifier.Verify(entries).LastHash.Should().Be(entries[^1].Hash);

        var edited = entries.ToList();
        edited[4] = edited[4] with { Amount = CreditAmount.FromDecimal(-1, 6) };
        var result = LedgerVerifier.Verify(edited);
        result.IsValid.Should().BeFalse();
        result.FirstBadSequence.Should().Be(5);
        result.Problem.Should().Contain("changed");

        var rehashed = entries.ToList();
        rehashed[4] = rehashed[4] with { Subject = "someone-else" };
        using (var hasher = new LedgerEntryHasher())
        {
            rehashed[4] = rehashed[4] with { Hash = hasher.Compute(rehashed[4], rehashed[4].PreviousHash) };
        }

        LedgerVerifier.Verify(rehashed).FirstBadSequence.Should().Be(6, "re-hashing an edited entry breaks the next link");

        var dropped = entries.ToList();
        dropped.RemoveAt(3);
        LedgerVerifier.Verify(dropped).FirstBadSequence.Should().Be(4);

        var reordered = entries.ToList();
        (reordered[2], reordered[3]) = (reordered[3], reordered[2]);
        LedgerVerifier.Verify(reordered).FirstBadSequence.Should().Be(3);

        var truncatedTail = entries.Take(entries.Count - 1).ToList();
        LedgerVerifier.Verify(truncatedTail).LastHash.Should().NotBe(entries[^1].Hash, "a dropped tail shows against an anchored head hash");
    }

    [Test]
    public async Task Verify_DetectsABalanceThatDoesNotFollowFromTheEntries()
    {
        await using var h = await BusyLedgerAsync();
        var entries = (await h.EntriesAsync()).ToList();
        var forged = entries.ToList();
        using var hasher = new LedgerEntryHasher();

        // A forger who re-hashes the whole chain still cannot make wrong balances add up.
        forged[2] = forged[2] with { BalanceAfter = CreditAmount.FromDecimal(1_000, 6) };
        LedgerHash previous = forged[1].Hash;
        for (int i = 2; i < forged.Count; i++)
        {
            forged[i] = forged[i] with { PreviousHash = previous };
            forged[i] = forged[i] with { Hash = hasher.Compute(forged[i], previous) };
            previous = forged[i].Hash;
        }

        var result = LedgerVerifier.Verify(forged);
        result.IsValid.Should().BeFalse();
        result.FirstBadSequence.Should().Be(3);
        result.Problem.Should().Contain("balances");
    }

    [Test]
    public async Task Start_OnAStoreWithAGap_RefusesToStart()
    {
        await using var h = await BusyLedgerAsync();
        var entries = (await h.EntriesAsync()).ToList();
        entries.RemoveAt(2);
        var damaged = new InMemoryLedgerStore();
        foreach (LedgerEntry e in entries.Take(2))
        {
            await damaged.AppendAsync(new LedgerBatch(new[] { e }, []));
        }

        Func<Task> appendGap = () => damaged.AppendAsync(new LedgerBatch(new[] { entries[2] }, [])).AsTask();
        await appendGap.Should().ThrowAsync<InvalidOperationException>("the store itself refuses a gap");
        Func<Task> start = () => EntitlementGuard.StartAsync(new UsageGuardOptions(), new GapStore(entries), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).AsTask();
        (await start.Should().ThrowAsync<UsageGuardException>()).Which.Message.Should().Contain("Refusing to start");
    }

    [Test]
    public void Verify_DetectsAChangedCatalogVersionOrUsage()
    {
        LedgerEntry[] entries = CatalogPricedLedger();
        LedgerVerifier.Verify(entries).IsValid.Should().BeTrue();
        MeteredUsage u = entries[2].Usage!.Value;

        LedgerEntry[][] tampered =
        [
            [entries[0], entries[1] with { CatalogVersion = "fedcba9876543210" }, entries[2]],
            [entries[0], entries[1] with { CatalogVersion = null }, entries[2]],
            [entries[0], entries[1], entries[2] with { CatalogVersion = null }],
            [entries[0], entries[1], entries[2] with { Usage = new MeteredUsage(u.Meter, u.Quantity - 1, u.Window, u.WindowStart, u.WindowEnd) }],
            [entries[0], entries[1], entries[2] with { Usage = new MeteredUsage("feature:search", u.Quantity, u.Window, u.WindowStart, u.WindowEnd) }],
            [entries[0], entries[1], entries[2] with { Usage = new MeteredUsage(u.Meter, u.Quantity, u.Window, u.WindowStart.AddDays(1), u.WindowEnd.AddDays(1)) }],
        ];

        foreach (LedgerEntry[] ledger in tampered)
        {
            var result = LedgerVerifier.Verify(ledger);
            result.IsValid.Should().BeFalse();
            result.Problem.Should().Contain("changed");
        }
    }

    [Test]
    public async Task Start_OnAStoreWithAChangedUsageEntry_RefusesToStart()
    {
        LedgerEntry[] entries = CatalogPricedLedger();
        MeteredUsage u = entries[2].Usage!.Value;
        var intact = new InMemoryLedgerStore();
        await intact.AppendAsync(new LedgerBatch(entries, []));
        var damaged = new InMemoryLedgerStore();
        await damaged.AppendAsync(new LedgerBatch(new[] { entries[0], entries[1], entries[2] with { Usage = new MeteredUsage(u.Meter, 1, u.Window, u.WindowStart, u.WindowEnd) } }, []));

        await using (GuardHarness h = await GuardHarness.StartAsync(store: intact))
        {
            h.Balance("acme").Should().Be(90m);
        }

        Func<Task> start = () => GuardHarness.StartAsync(store: damaged);
        (await start.Should().ThrowAsync<LedgerCorruptedException>()).Which.Message.Should().Contain("changed after it was written");
    }

    /// <summary>A grant, a settlement priced by a catalog, and the usage it counted; hashed and chained as the writer does.</summary>
    private static LedgerEntry[] CatalogPricedLedger()
    {
        var t0 = new DateTimeOffset(2026, 8, 1, 12, 0, 0, TimeSpan.Zero);
        var block = new CreditBlock(Guid.CreateVersion7(t0), "acme", "credits", CreditAmount.FromUnits(100_000_000, 6), t0, null, 0, CreditCategory.Paid, null, null, null, t0);
        LedgerEntry[] entries =
        [
            new()
            {
                Kind = LedgerEntryKind.Grant, BlockId = block.Id, Block = block, Amount = block.Amount,
                BalanceBefore = CreditAmount.FromUnits(0, 6), BalanceAfter = CreditAmount.FromUnits(100_000_000, 6),
            },
            new()
            {
                Kind = LedgerEntryKind.Settle, BlockId = block.Id, Amount = CreditAmount.FromUnits(-10_000_000, 6), Feature = "chat", ReservationId = 1,
                BalanceBefore = CreditAmount.FromUnits(100_000_000, 6), BalanceAfter = CreditAmount.FromUnits(90_000_000, 6), CatalogVersion = "0123456789abcdef",
            },
            new()
            {
                Kind = LedgerEntryKind.Usage, Amount = CreditAmount.FromUnits(0, 6), Feature = "chat", ReservationId = 1, CatalogVersion = "0123456789abcdef",
                BalanceBefore = CreditAmount.FromUnits(90_000_000, 6), BalanceAfter = CreditAmount.FromUnits(90_000_000, 6),
                Usage = new MeteredUsage("feature:chat", 3, UsageWindow.Day, t0.AddHours(-12), t0.AddHours(12)),
            },
        ];

        using var hasher = new LedgerEntryHasher();
        LedgerHash previous = LedgerHash.Genesis;
        for (int i = 0; i < entries.Length; i++)
        {
            LedgerEntry e = entries[i] with { Sequence = i + 1, Timestamp = t0.AddSeconds(i), CustomerId = "acme", CreditType = "credits", PreviousHash = previous };
            entries[i] = e with { Hash = hasher.Compute(e, previous) };
            previous = entries[i].Hash;
        }

        return entries;
    }

    private static string Describe(GuardHarness h) =>
        string.Join(
            "\n",
            new[] { "acme", "globex" }.Select(c =>
            {
                var b = h.Ledger.GetBalance(c);
                return $"{c}: {b.Balance} held {b.Held} avail {b.Available} owed {b.Owed} | " +
                    string.Join("; ", b.Blocks.Select(x => $"{x.Block.Id} {x.State} rem {x.Remaining} used {x.Used} exp {x.Expired} void {x.Voided}"));
            }));

    /// <summary>A store whose entries were damaged behind its back (one removed).</summary>
    private sealed class GapStore(IReadOnlyList<LedgerEntry> entries) : DelegatingLedgerStore(new InMemoryLedgerStore())
    {
        public override async IAsyncEnumerable<LedgerEntry> ReadAsync(long afterSequence, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            foreach (LedgerEntry e in entries.Where(e => e.Sequence > afterSequence))
            {
                yield return e;
            }

            await Task.CompletedTask;
        }

        public override ValueTask SaveSnapshotAsync(LedgerSnapshot snapshot, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public override ValueTask<LedgerSnapshot?> LoadLatestSnapshotAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult<LedgerSnapshot?>(null);
    }
}
