using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Ledger;

/// <summary>
/// Many threads run random grant / reserve / settle / release / consume / void / adjust / expire sequences; invariants are
/// checked after every step, and at the end the ledger is replayed through a simple sequential model that must agree
/// with every entry and with the live state.
/// </summary>
[TestFixture]
public sealed class ModelCheckTests
{
    private static readonly string[] Customers = ["acme", "globex"];

    [TestCase(11)]
    [TestCase(22)]
    [TestCase(33)]
    [TestCase(44)]
    [TestCase(55)]
    public async Task RandomOperations_ManyThreads_AgreeWithSequentialModel(int seed)
    {
        await using var h = await GuardHarness.StartAsync(o => o.SettlementDurability = Durability.WriteBehind);
        foreach (string customer in Customers)
        {
            await h.GrantAsync(customer, 500);
        }

        var violations = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var keyedCharges = new System.Collections.Concurrent.ConcurrentDictionary<string, decimal>();
        using var start = new Barrier(4);
        var workers = Enumerable.Range(0, 4).Select(w => Task.Factory.StartNew(() =>
        {
            var random = new Random(seed * 31 + w);
            var open = new List<Reservation>();
            start.SignalAndWait();
            for (int step = 0; step < 4000; step++)
            {
                string customer = Customers[random.Next(Customers.Length)];
                try
                {
                    Step(h, random, customer, open, keyedCharges, w);
                }
                catch (Exception ex) when (ex is InsufficientCreditsException or ArgumentException or InvalidOperationException or ReservationStateException)
                {
                    // Expected refusals of random input: they must change nothing, which the final replay checks.
                }

                CheckInvariants(h, customer, violations);
            }

            foreach (Reservation r in open)
            {
                try
                {
                    r.ReleaseAsync().AsTask().Wait();
                }
                catch (AggregateException ex) when (ex.InnerException is ReservationStateException)
                {
                }
                catch (ReservationStateException)
                {
                }
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(workers);

        violations.Should().BeEmpty();
        foreach (string customer in Customers)
        {
            Wallet wallet = h.Guard.WalletFor(customer, "credits");
            foreach (BlockAccount b in wallet.Blocks.ToArray())
            {
                long available = b.IsClosed ? 0 : b.Available;
                (b.Used + b.Held + b.Removed + available).Should().Be(b.Capacity, "at rest every unit of a block is used, held, removed or available");
                b.Held.Should().Be(0);
            }
        }

        // Reading a balance notices expiries due by now (lazily), which writes entries: do it before reading the ledger.
        foreach (string customer in Customers)
        {
            h.Ledger.GetBalance(customer);
        }

        var entries = await h.EntriesAsync();
        ReplayAgainstModel(h, entries);
        (await h.Ledger.VerifyAsync()).IsValid.Should().BeTrue();
        foreach ((string key, decimal expected) in keyedCharges)
        {
            decimal recorded = -entries.Where(e => e.IdempotencyKey == key && e.Kind == LedgerEntryKind.Settle).Sum(e => e.Amount.ToDecimal());
            recorded.Should().Be(expected, $"key {key} applies exactly once");
        }

        await h.RestartAsync();
        ReplayAgainstModel(h, entries);
    }

    private static void Step(GuardHarness h, Random random, string customer, List<Reservation> open, System.Collections.Concurrent.ConcurrentDictionary<string, decimal> keyed, int worker)
    {
        switch (random.Next(100))
        {
            case < 8:
                h.Ledger.GrantAsync(new CreditGrant
                {
                    CustomerId = customer,
                    Amount = random.Next(1, 80),
                    Priority = random.Next(3),
                    Category = (CreditCategory)random.Next(4),
                    ExpiresAt = random.Next(2) == 0 ? h.Time.GetUtcNow().AddMinutes(random.Next(1, 120)) : null,
                    EffectiveAt = random.Next(5) == 0 ? h.Time.GetUtcNow().AddMinutes(random.Next(1, 30)) : null,
                    Durability = Durability.WriteBehind,
                }).AsTask().Wait();
                break;
            case < 40:
                var r = h.Gate.ReserveAsync(new ReservationRequest { CustomerId = customer, Amount = random.Next(1, 60) / 4m, Ttl = TimeSpan.FromMinutes(random.Next(1, 90)), OverrunPolicy = (SettlementPolicy)random.Next(3) }).AsTask().Result;
                if (r.IsAdmitted)
                {
                    open.Add(r.Reservation);
                }

                break;
            case < 65 when open.Count > 0:
                int i = random.Next(open.Count);
                Reservation reservation = open[i];
                open.RemoveAt(i);
                decimal actual = reservation.Held.ToDecimal() * random.Next(0, 150) / 100m;
                reservation.SettleAsync(decimal.Round(actual, 6)).AsTask().Wait();
                break;
            case < 72 when open.Count > 0:
                int j = random.Next(open.Count);
                Reservation released = open[j];
                open.RemoveAt(j);
                released.ReleaseAsync().AsTask().Wait();
                break;
            case < 82:
                string key = $"w{worker}-{random.Next(20)}";
                decimal amount = key.GetHashCode(StringComparison.Ordinal) % 5 + 6;
                var c = h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = amount, IdempotencyKey = key }).AsTask().Result;
                if (c.IsAdmitted && !c.Replayed)
                {
                    keyed.TryAdd(key, c.Settlement.Charged.ToDecimal()).Should().BeTrue("a key applies once");
                }

                break;
            case < 86:
                var blocks = h.Ledger.GetBalance(customer).Blocks;
                if (blocks.Count > 0)
                {
                    h.Ledger.VoidAsync(customer, blocks[random.Next(blocks.Count)].Block.Id, "model check").AsTask().Wait();
                }

                break;
            case < 92:
                decimal delta = random.Next(1, 30) * (random.Next(2) == 0 ? 1 : -1);
                h.Ledger.AdjustAsync(new CreditAdjustment { CustomerId = customer, Amount = delta, Reason = "model check" }).AsTask().Wait();
                break;
            case < 95:
                h.Time.Advance(TimeSpan.FromMinutes(random.Next(1, 10)));
                break;
            default:
                h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = customer, Amount = random.Next(1, 20) }).AsTask().Wait();
                break;
        }
    }

    private static void CheckInvariants(GuardHarness h, string customer, System.Collections.Concurrent.ConcurrentQueue<string> violations)
    {
        Wallet wallet = h.Guard.WalletFor(customer, "credits");
        BlockAccount[] blocks;
        lock (wallet.Gate)
        {
            blocks = wallet.Blocks.ToArray();
        }

        // The counters are read one by one while other threads move them, so only bounds that hold for any
        // interleaving of single reads are checked here; the exact conservation law is checked at quiescence.
        foreach (BlockAccount b in blocks)
        {
            long available = b.Available;
            long held = b.Held;
            long used = b.Used;
            long removed = b.Removed;
            if ((available < 0 && available != Pool.ClosedMarker) || available > b.Capacity
                || held < 0 || held > b.Capacity || used < 0 || used > b.Capacity || removed < 0 || used + removed > b.Capacity)
            {
                violations.Enqueue($"I1 violated on block {b.Terms.Id}: available {available}, used {used}, held {held}, removed {removed}, capacity {b.Capacity}");
            }
        }

        if (wallet.Owed < 0 || wallet.Owed > wallet.Type.OverdraftLimitUnits)
        {
            violations.Enqueue($"overdraft {wallet.Owed} outside 0..{wallet.Type.OverdraftLimitUnits}");
        }
    }

    /// <summary>An independent sequential model: balances and block remainders folded in ledger order.</summary>
    private static void ReplayAgainstModel(GuardHarness h, IReadOnlyList<LedgerEntry> entries)
    {
        var balance = new Dictionary<string, long>();
        var remaining = new Dictionary<Guid, long>();
        var owner = new Dictionary<Guid, string>();
        long sequence = 0;
        foreach (LedgerEntry e in entries)
        {
            e.Sequence.Should().Be(++sequence);
            balance.TryGetValue(e.CustomerId, out long before);
            e.BalanceBefore.Units.Should().Be(before, $"entry {e.Sequence} ({e.Kind}) starts from the model's balance");
            long units = e.Amount.Units;
            long after = before;
            switch (e.Kind)
            {
                case LedgerEntryKind.Grant:
                    remaining[e.BlockId!.Value] = units;
                    owner[e.BlockId.Value] = e.CustomerId;
                    after += units;
                    break;
                case LedgerEntryKind.Settle or LedgerEntryKind.Expire or LedgerEntryKind.Void or LedgerEntryKind.Adjust:
                    owner[e.BlockId!.Value].Should().Be(e.CustomerId, "I6: an entry only touches its own customer's blocks");
                    remaining[e.BlockId.Value] += units;
                    remaining[e.BlockId.Value].Should().BeGreaterThanOrEqualTo(0);
                    after += units;
                    break;
                case LedgerEntryKind.Overdraft:
                    after += units;
                    break;
                case LedgerEntryKind.OverdraftSettle:
                    remaining[e.BlockId!.Value] += units;
                    break;
            }

            e.BalanceAfter.Units.Should().Be(after, $"entry {e.Sequence} ({e.Kind}) ends at the model's balance");
            balance[e.CustomerId] = after;
        }

        foreach (string customer in Customers)
        {
            var live = h.Ledger.GetBalance(customer);
            live.Held.Units.Should().Be(0);
            live.Balance.Units.Should().Be(balance[customer], $"I2: {customer}'s live balance is the ledger's projection");
            foreach (CreditBlockBalance block in live.Blocks)
            {
                block.Remaining.Units.Should().Be(remaining[block.Block.Id]);
            }
        }
    }
}
