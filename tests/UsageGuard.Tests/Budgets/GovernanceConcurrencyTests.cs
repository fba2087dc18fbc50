using System.Collections.Concurrent;
using System.Diagnostics;
using FluentAssertions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests.Budgets;

/// <summary>
/// Budgets under contention: hundreds of threads reserving, settling, releasing and abandoning across a subject tree, a session,
/// a concurrency limit, a rate limit and alert thresholds. Each test states an invariant that an unsynchronised check-then-act,
/// a leaked hold or a double release would break.
/// </summary>
[TestFixture]
public sealed class GovernanceConcurrencyTests
{
    private const string Customer = "acme";
    private const int Users = 10;
    private static readonly DateTimeOffset August = new(2026, 8, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset September = new(2026, 9, 1, 0, 0, 0, TimeSpan.Zero);

    private static IEnumerable<TestCaseData> Bindings()
    {
        foreach (string level in new[] { "team", "org", "user" })
        {
            for (int seed = 1; seed <= 3; seed++)
            {
                yield return new TestCaseData(level, seed).SetName($"Reserve_ManyThreadsAcrossSubjectTree_AdmitsExactlyTheTightestCap(binding={level},seed={seed})");
            }
        }
    }

    /// <summary>
    /// One request of 1 credit per thread, every admitted one settled in full (or consumed at once). Only the binding level can refuse
    /// (the others have room for every request sent to them), so no refused request ever holds transiently in a level that then
    /// refuses another: exactly the binding cap is admitted, and every level counts exactly the settlements under it.
    /// </summary>
    [TestCaseSource(nameof(Bindings))]
    public async Task Reserve_ManyThreadsAcrossSubjectTree_AdmitsExactlyTheTightestCap(string binding, int seed)
    {
        (decimal org, decimal team, decimal user, bool bothTeams) = binding switch
        {
            "team" => (1000m, 50m, 25m, false),
            "org" => (60m, 100m, 25m, true),
            _ => (1000m, 500m, 5m, false),
        };
        await using GuardHarness h = await StartAsync(Tree(org, team, user));
        await h.GrantAsync(Customer, 10_000);

        // 200 requests, over the 10 users of search (20 each) or over the 20 users of both teams (10 each).
        int userCount = bothTeams ? 2 * Users : Users;
        var admitted = new int[userCount];
        var denials = new ConcurrentQueue<(int User, ReservationStatus Status, string? Scope, BudgetDenial? Budget)>();
        using var stop = new CancellationTokenSource();
        long violations = 0;
        Task monitor = MonitorAsync(h, () => Interlocked.Increment(ref violations), stop.Token);

        await StormAsync(200, i =>
        {
            var random = new Random((seed * 1000) + i);
            int u = i % userCount;
            Thread.SpinWait(random.Next(0, 200));
            ReservationRequest request = Request(1, UserPath(u));
            (ReservationStatus status, string? scope, BudgetDenial? budget) = random.Next(4) == 0 ? Consume(h, request) : ReserveAndSettle(h, request, 1);
            if (status == ReservationStatus.Admitted)
            {
                Interlocked.Increment(ref admitted[u]);
            }
            else
            {
                denials.Enqueue((u, status, scope, budget));
            }
        });
        stop.Cancel();
        await monitor;

        violations.Should().Be(0, "every limit's used and held stay within its cap at every instant");
        int total = admitted.Sum();
        switch (binding)
        {
            case "team":
                total.Should().Be(50);
                break;
            case "org":
                total.Should().Be(60);
                break;
            default:
                admitted.Should().OnlyContain(n => n == 5, "each user sent 20 requests and its cap is 5");
                total.Should().Be(50);
                break;
        }

        string expectedBudget = binding switch { "team" => "team-search", "org" => "org", _ => "" };
        denials.Should().HaveCount(200 - total);
        foreach ((int u, ReservationStatus status, string? scope, BudgetDenial? budget) in denials)
        {
            string id = binding == "user" ? "user-" + UserNode(u) : expectedBudget;
            status.Should().Be(ReservationStatus.BudgetExceeded);
            scope.Should().Be("budget:" + id);
            budget.Should().NotBeNull();
            budget!.Value.BudgetId.Should().Be(id);
            budget.Value.Window.Should().Be(UsageWindow.Month);
            budget.Value.WindowEnd.Should().Be(September);
            budget.Value.Used.Should().Be(budget.Value.Limit, "the binding level only fills, never rolls back");
        }

        // Every level counts exactly what was settled under it, and never more than its cap.
        var expected = new Dictionary<string, decimal>
        {
            ["org"] = total,
            ["team-search"] = admitted.Take(Users).Sum(),
            ["team-ads"] = admitted.Skip(Users).Sum(),
        };
        for (int u = 0; u < 2 * Users; u++)
        {
            expected["user-" + UserNode(u)] = u < userCount ? admitted[u] : 0;
        }

        IReadOnlyList<BudgetUsage> rows = h.Governance.GetBudgetUsage(Customer);
        rows.Should().HaveCount(expected.Count);
        foreach (BudgetUsage row in rows)
        {
            row.Used.Should().Be(expected[row.BudgetId], row.BudgetId);
            row.Held.Should().Be(0, row.BudgetId);
            row.Used.Should().BeLessThanOrEqualTo(row.Limit, row.BudgetId);
            row.Remaining.Should().Be(row.Limit - row.Used, row.BudgetId);
            row.Overage.Should().Be(0, row.BudgetId);
            row.WindowStart.Should().Be(August);
        }

        // A user's path reports its own budget and its ancestors', root first.
        h.Governance.GetBudgetUsage(Customer, UserPath(3)).Select(r => r.BudgetId).Should().Equal("org", "team-search", "user-user3");

        WalletBalance wallet = h.Ledger.GetBalance(Customer);
        wallet.Balance.ToDecimal().Should().Be(10_000 - total);
        wallet.Available.ToDecimal().Should().Be(wallet.Balance.ToDecimal());
        wallet.Held.ToDecimal().Should().Be(0);
    }

    /// <summary>
    /// Random amounts, settled in full or in part, released, or consumed at once, over both teams, with every level able to refuse:
    /// refused requests hold and roll back at the levels above the one that refused, so admissions are not exact, but every level's
    /// count is the sum of the settlements under it, never above its cap at any instant, and each denial names a budget on the
    /// request's path, with its cap.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task ReserveSettleRelease_RandomAmountsAcrossSubjectTree_EveryLevelCountsExactlyItsSettlements(int seed)
    {
        await using GuardHarness h = await StartAsync(Tree(org: 700, team: 400, user: 45));
        await h.GrantAsync(Customer, 100_000);
        var settledCents = new long[2 * Users];
        var denials = new ConcurrentQueue<(int User, decimal Amount, ReservationStatus Status, string? Scope, BudgetDenial? Budget)>();
        int admittedCount = 0;
        using var stop = new CancellationTokenSource();
        long violations = 0;
        Task monitor = MonitorAsync(h, () => Interlocked.Increment(ref violations), stop.Token);

        await StormAsync(200, i =>
        {
            var random = new Random((seed * 1000) + i);
            for (int k = 0; k < 4; k++)
            {
                int u = random.Next(2 * Users);
                int cents = random.Next(1, 1000);
                decimal amount = cents / 100m;
                ReservationRequest request = Request(amount, UserPath(u));
                int action = random.Next(20);
                if (action < 3)
                {
                    ConsumeResult consumed = h.Gate.ConsumeAsync(request).AsTask().Result;
                    if (consumed.IsAdmitted)
                    {
                        Interlocked.Increment(ref admittedCount);
                        Interlocked.Add(ref settledCents[u], cents);
                    }
                    else
                    {
                        denials.Enqueue((u, amount, consumed.Status, consumed.Scope, consumed.Budget));
                    }

                    continue;
                }

                ReservationResult r = Reserve(h, request);
                if (!r.IsAdmitted)
                {
                    denials.Enqueue((u, amount, r.Status, r.Scope, r.Budget));
                    continue;
                }

                Interlocked.Increment(ref admittedCount);
                Thread.SpinWait(random.Next(0, 300));
                if (action < 6)
                {
                    r.Reservation.ReleaseAsync().AsTask().Wait();
                    continue;
                }

                int actual = action < 10 ? random.Next(0, cents + 1) : cents;
                SettlementResult s = r.Reservation.SettleAsync(actual / 100m).AsTask().Result;
                s.Charged.ToDecimal().Should().Be(actual / 100m);
                Interlocked.Add(ref settledCents[u], actual);
            }
        });
        stop.Cancel();
        await monitor;

        violations.Should().Be(0, "every limit's used and held stay within its cap at every instant");
        admittedCount.Should().BeGreaterThan(0);
        denials.Should().NotBeEmpty("the caps are far below what 800 requests of up to 10 credits ask for");
        foreach ((int u, decimal amount, ReservationStatus status, string? scope, BudgetDenial? budget) in denials)
        {
            status.Should().Be(ReservationStatus.BudgetExceeded);
            budget.Should().NotBeNull();
            string id = budget!.Value.BudgetId;
            id.Should().BeOneOf(PathBudgets(u));
            scope.Should().Be("budget:" + id);
            budget.Value.Limit.Should().Be(id == "org" ? 700 : id.StartsWith("team-", StringComparison.Ordinal) ? 400 : 45);
            budget.Value.Used.Should().BeInRange(0, budget.Value.Limit);
        }

        decimal Credits(IEnumerable<int> users) => users.Sum(u => settledCents[u]) / 100m;
        var expected = new Dictionary<string, decimal>
        {
            ["org"] = Credits(Enumerable.Range(0, 2 * Users)),
            ["team-search"] = Credits(Enumerable.Range(0, Users)),
            ["team-ads"] = Credits(Enumerable.Range(Users, Users)),
        };
        for (int u = 0; u < 2 * Users; u++)
        {
            expected["user-" + UserNode(u)] = Credits([u]);
        }

        foreach (BudgetUsage row in h.Governance.GetBudgetUsage(Customer))
        {
            row.Used.Should().Be(expected[row.BudgetId], row.BudgetId);
            row.Held.Should().Be(0, row.BudgetId);
            row.Used.Should().BeLessThanOrEqualTo(row.Limit, row.BudgetId);
        }

        WalletBalance wallet = h.Ledger.GetBalance(Customer);
        wallet.Balance.ToDecimal().Should().Be(100_000 - expected["org"]);
        wallet.Available.ToDecimal().Should().Be(wallet.Balance.ToDecimal());
        wallet.Held.ToDecimal().Should().Be(0);
    }

    /// <summary>
    /// The wallet runs out before the budgets: every request the wallet refuses has already held in org, team and user, and must give
    /// all of it back. Afterwards each level counts exactly what the wallet charged, and the budgets' remaining room is exactly usable.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task Reserve_WalletTighterThanBudgets_BudgetsKeepNoHoldOfWalletRefusals(int seed)
    {
        await using GuardHarness h = await StartAsync(Tree(org: 300, team: 250, user: 1000));
        await h.GrantAsync(Customer, 200);
        long settledCents = 0;
        var searchCents = new long[Users];
        int walletRefusals = 0;
        var unexpected = new ConcurrentQueue<ReservationStatus>();

        await StormAsync(200, i =>
        {
            var random = new Random((seed * 1000) + i);
            for (int k = 0; k < 3; k++)
            {
                int u = random.Next(Users);
                int cents = random.Next(100, 501);
                ReservationResult r = Reserve(h, Request(cents / 100m, UserPath(u)));
                if (r.Status == ReservationStatus.InsufficientCredits)
                {
                    Interlocked.Increment(ref walletRefusals);
                    continue;
                }

                if (!r.IsAdmitted)
                {
                    // The team's cap may refuse while refused requests hold in it for an instant; anything else is wrong.
                    if (r.Status != ReservationStatus.BudgetExceeded)
                    {
                        unexpected.Enqueue(r.Status);
                    }

                    continue;
                }

                Thread.SpinWait(random.Next(0, 300));
                if (random.Next(5) == 0)
                {
                    r.Reservation.ReleaseAsync().AsTask().Wait();
                    continue;
                }

                r.Reservation.SettleAsync(cents / 100m).AsTask().Wait();
                Interlocked.Add(ref settledCents, cents);
                Interlocked.Add(ref searchCents[u], cents);
            }
        });

        unexpected.Should().BeEmpty();
        walletRefusals.Should().BeGreaterThan(0, "600 requests of 1 to 5 credits ask for far more than the wallet's 200");
        WalletBalance wallet = h.Ledger.GetBalance(Customer);
        decimal charged = 200 - wallet.Balance.ToDecimal();
        charged.Should().Be(settledCents / 100m);
        wallet.Held.ToDecimal().Should().Be(0);

        BudgetUsage teamRow = Row(h, "team-search");
        (teamRow.Used + teamRow.Held).Should().Be(charged, "the team counts what the wallet charged, nothing of what it refused");
        teamRow.Held.Should().Be(0);
        Row(h, "org").Used.Should().Be(charged);
        Row(h, "org").Held.Should().Be(0);
        for (int u = 0; u < Users; u++)
        {
            Row(h, "user-" + UserNode(u)).Used.Should().Be(searchCents[u] / 100m);
        }

        // The team's remaining room is exactly what it reports: once the wallet can pay, it is admitted in one piece, and not a unit more.
        await h.GrantAsync(Customer, 1000);
        decimal room = 250 - charged;
        ReservationResult rest = await h.Gate.ReserveAsync(Request(room, UserPath(0)));
        rest.Status.Should().Be(ReservationStatus.Admitted);
        ReservationResult over = await h.Gate.ReserveAsync(Request(0.000001m, UserPath(1)));
        over.Status.Should().Be(ReservationStatus.BudgetExceeded);
        over.Budget!.Value.BudgetId.Should().Be("team-search");
        await rest.Reservation.ReleaseAsync();
    }

    /// <summary>
    /// The team's budget runs out while the wallet has plenty: the budget refuses before the wallet is asked, so the wallet holds
    /// nothing for a refused request. Afterwards Available equals Balance, and all of it can be reserved by a subject outside the team.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task Reserve_BudgetTighterThanWallet_WalletKeepsNoHoldOfBudgetRefusals(int seed)
    {
        var governance = new GovernanceOptions();
        CustomerGovernanceOptions customer = TreeOnly();
        customer.Budgets.Add(CreditBudget("team-search", "search", 100, "month"));
        governance.Customers.Add(customer);
        await using GuardHarness h = await StartAsync(governance);
        await h.GrantAsync(Customer, 1000);
        long settledCents = 0;
        int budgetRefusals = 0;
        var unexpected = new ConcurrentQueue<ReservationStatus>();

        await StormAsync(200, i =>
        {
            var random = new Random((seed * 1000) + i);
            for (int k = 0; k < 3; k++)
            {
                int cents = random.Next(100, 501);
                ReservationResult r = Reserve(h, Request(cents / 100m, UserPath(random.Next(Users))));
                if (!r.IsAdmitted)
                {
                    if (r.Status == ReservationStatus.BudgetExceeded)
                    {
                        Interlocked.Increment(ref budgetRefusals);
                    }
                    else
                    {
                        unexpected.Enqueue(r.Status);
                    }

                    continue;
                }

                Thread.SpinWait(random.Next(0, 300));
                if (random.Next(5) == 0)
                {
                    r.Reservation.ReleaseAsync().AsTask().Wait();
                    continue;
                }

                r.Reservation.SettleAsync(cents / 100m).AsTask().Wait();
                Interlocked.Add(ref settledCents, cents);
            }
        });

        unexpected.Should().BeEmpty();
        budgetRefusals.Should().BeGreaterThan(0);
        decimal spent = settledCents / 100m;
        spent.Should().BeLessThanOrEqualTo(100);
        BudgetUsage row = Row(h, "team-search");
        row.Used.Should().Be(spent);
        row.Held.Should().Be(0);

        WalletBalance wallet = h.Ledger.GetBalance(Customer);
        wallet.Balance.ToDecimal().Should().Be(1000 - spent);
        wallet.Held.ToDecimal().Should().Be(0);
        wallet.Available.ToDecimal().Should().Be(wallet.Balance.ToDecimal(), "no refused request left a hold in the wallet");

        // Everything the wallet has is reservable, in one piece, by a subject no budget caps.
        ReservationResult all = await h.Gate.ReserveAsync(Request(wallet.Balance.ToDecimal(), "org/eng/ads/ad0"));
        all.Status.Should().Be(ReservationStatus.Admitted);
        (await h.Gate.ReserveAsync(Request(0.000001m, "org/eng/ads/ad1"))).Status.Should().Be(ReservationStatus.InsufficientCredits);
    }

    /// <summary>
    /// The wallet is short after every budget has held: refused, the request must give every budget hold back; admitted on the
    /// slow path's second attempt (after reclaiming an expired hold), it must keep them, so its settlement counts. One thread,
    /// the smallest reproduction of what the storm above shows.
    /// </summary>
    [TestCase(false)]
    [TestCase(true)]
    public async Task Reserve_WalletShortAfterBudgetsHeld_BudgetsCountExactlyWhatTheWalletCharged(bool reclaimFirst)
    {
        await using GuardHarness h = await StartAsync(Tree(org: 300, team: 250, user: 100));
        await h.GrantAsync(Customer, 10);
        ReservationResult first = await h.Gate.ReserveAsync(Request(6, UserPath(0), ttl: TimeSpan.FromMinutes(1)));
        first.Status.Should().Be(ReservationStatus.Admitted);
        if (reclaimFirst)
        {
            // The first hold is abandoned; past its TTL, the wallet's slow path reclaims it and admits the second request.
            h.Time.Advance(TimeSpan.FromMinutes(1));
        }

        ReservationResult second = await h.Gate.ReserveAsync(Request(6, UserPath(0)));
        second.Status.Should().Be(reclaimFirst ? ReservationStatus.Admitted : ReservationStatus.InsufficientCredits);
        if (reclaimFirst)
        {
            await second.Reservation.SettleAsync(6);
        }
        else
        {
            await first.Reservation.SettleAsync(6);
        }

        foreach (string id in new[] { "org", "team-search", "user-user0" })
        {
            BudgetUsage row = Row(h, id);
            row.Held.Should().Be(0, id);
            row.Used.Should().Be(6, id);
        }

        h.Ledger.GetBalance(Customer).Balance.ToDecimal().Should().Be(4);
    }

    /// <summary>
    /// Each round (a new one-second window), one thread settles four requests of 10 credits for a user capped at 40 while two others
    /// keep asking for the same user: they hold in the org's budget and roll back when the user's cap refuses them. The org's usage
    /// never passes 40, so its alert at 50% (50 credits) must never be raised.
    /// </summary>
    [Test]
    public async Task Settle_WhileRefusedRequestsRollBackAboveTheUser_NeverRaisesAThresholdUsageNeverReached()
    {
        CustomerGovernanceOptions customer = TreeOnly();
        BudgetOptions org = CreditBudget("org", "org", 100, "second");
        org.Limits[0].AlertAt.Add("50%");
        customer.Budgets.Add(org);
        customer.Budgets.Add(CreditBudget("user-user0", "user0", 40, "second"));
        var governance = new GovernanceOptions();
        governance.Customers.Add(customer);
        await using GuardHarness h = await StartAsync(governance);
        await h.GrantAsync(Customer, 10_000_000);
        var alerts = new ConcurrentQueue<UsageAlert>();
        h.Governance.AlertRaised += (_, alert) => alerts.Enqueue(alert);
        ReservationRequest request = Request(10, UserPath(0));
        const int Rounds = 5000;
        using var phase = new Barrier(3);
        int settlerDone = 0;
        int stop = 0;

        await StormAsync(3, t =>
        {
            for (int round = 0; round < Rounds; round++)
            {
                phase.SignalAndWait();
                if (Volatile.Read(ref stop) == 1)
                {
                    return;
                }

                if (t == 0)
                {
                    for (int k = 0; k < 4; k++)
                    {
                        ReservationResult r = Reserve(h, request);
                        if (r.IsAdmitted)
                        {
                            r.Reservation.SettleAsync(10).AsTask().Wait();
                        }
                    }

                    Volatile.Write(ref settlerDone, 1);
                }
                else
                {
                    while (Volatile.Read(ref settlerDone) == 0)
                    {
                        ReservationResult r = Reserve(h, request);
                        if (r.IsAdmitted)
                        {
                            r.Reservation.SettleAsync(10).AsTask().Wait();
                        }
                    }
                }

                phase.SignalAndWait();
                if (t == 0)
                {
                    Volatile.Write(ref settlerDone, 0);
                    Volatile.Write(ref stop, alerts.IsEmpty ? 0 : 1);
                    h.Time.Advance(TimeSpan.FromSeconds(1));
                }
            }
        });

        await Task.Delay(150);
        alerts.Select(a => $"{a.WindowStart:HH:mm:ss} used {a.Used}").Should().BeEmpty("the user's cap of 40 bounds the org's usage below its 50% threshold");
    }

    /// <summary>
    /// A limit of 3 requests in flight: the test counts each admitted reservation from its admission until just before it is settled
    /// or released, which is inside the engine's own lease, so the count may never pass 3.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task Reserve_InFlightLimitOfThree_NeverMoreThanThreeAdmittedAtOnce(int seed)
    {
        await using GuardHarness h = await StartAsync(InFlight(3));
        await h.GrantAsync(Customer, 10_000);
        var tracker = new InFlightTracker();
        int admitted = 0;
        long settled = 0;
        var unexpected = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        long violations = 0;
        Task monitor = MonitorAsync(h, () => Interlocked.Increment(ref violations), stop.Token);

        await StormAsync(200, i =>
        {
            var random = new Random((seed * 1000) + i);
            for (int k = 0; k < 4; k++)
            {
                ReservationResult r = Reserve(h, Request(1, ttl: TimeSpan.FromMinutes(1)));
                if (!r.IsAdmitted)
                {
                    CheckConcurrencyDenial(r, unexpected);
                    continue;
                }

                Interlocked.Increment(ref admitted);
                tracker.Enter();
                Thread.SpinWait(random.Next(0, 2000));
                if (random.Next(8) == 0)
                {
                    Thread.Yield();
                }

                tracker.Leave();
                if (random.Next(3) == 0)
                {
                    r.Reservation.ReleaseAsync().AsTask().Wait();
                }
                else
                {
                    r.Reservation.SettleAsync(1).AsTask().Wait();
                    Interlocked.Increment(ref settled);
                }
            }
        });
        stop.Cancel();
        await monitor;

        unexpected.Should().BeEmpty();
        violations.Should().Be(0);
        tracker.Max.Should().BeInRange(1, 3);
        admitted.Should().BeGreaterThan(3);
        BudgetUsage row = Row(h, "conc");
        row.Held.Should().Be(0);
        row.Used.Should().Be(0);
        row.Remaining.Should().Be(3);
        WalletBalance wallet = h.Ledger.GetBalance(Customer);
        wallet.Balance.ToDecimal().Should().Be(10_000 - settled);
        wallet.Held.ToDecimal().Should().Be(0);
    }

    /// <summary>
    /// Reservations abandoned in the middle of a storm keep their slots until their TTL; once every slot is abandoned, nothing is
    /// admitted. Past the TTL the sweep gives each slot back exactly once (settling an abandoned handle afterwards frees nothing more),
    /// and the next storm is again admitted at most 3 at a time.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task Reserve_InFlightSlotsOfAbandonedReservations_ComeBackOnceAtTheirTtl(int seed)
    {
        await using GuardHarness h = await StartAsync(InFlight(3));
        await h.GrantAsync(Customer, 10_000);
        TimeSpan ttl = TimeSpan.FromMinutes(1);
        var abandoned = new ConcurrentQueue<Reservation>();
        int tickets = 0;
        var unexpected = new ConcurrentQueue<string>();
        var tracker = new InFlightTracker();

        await StormAsync(200, i =>
        {
            var random = new Random((seed * 1000) + i);
            for (int k = 0; k < 3; k++)
            {
                ReservationResult r = Reserve(h, Request(1, ttl: ttl));
                if (!r.IsAdmitted)
                {
                    CheckConcurrencyDenial(r, unexpected);
                    continue;
                }

                tracker.Enter();
                if (random.Next(10) == 0 && Interlocked.Increment(ref tickets) <= 2)
                {
                    // Abandoned: still in flight as far as the limit is concerned, until its TTL.
                    abandoned.Enqueue(r.Reservation);
                    continue;
                }

                Thread.SpinWait(random.Next(0, 1000));
                tracker.Leave();
                r.Reservation.SettleAsync(1).AsTask().Wait();
            }
        });

        unexpected.Should().BeEmpty();
        tracker.Max.Should().BeLessThanOrEqualTo(3);
        Row(h, "conc").Held.Should().Be(abandoned.Count);

        // Abandon the rest, so every slot is taken by a reservation nobody will settle.
        while (abandoned.Count < 3)
        {
            ReservationResult r = await h.Gate.ReserveAsync(Request(1, ttl: ttl));
            r.Status.Should().Be(ReservationStatus.Admitted);
            abandoned.Enqueue(r.Reservation);
        }

        int admittedWhileFull = 0;
        await StormAsync(100, _ =>
        {
            ReservationResult r = Reserve(h, Request(1, ttl: ttl));
            if (r.IsAdmitted)
            {
                Interlocked.Increment(ref admittedWhileFull);
                r.Reservation.SettleAsync(1).AsTask().Wait();
            }
            else
            {
                CheckConcurrencyDenial(r, unexpected);
            }
        });
        admittedWhileFull.Should().Be(0, "three abandoned reservations hold every slot until their TTL");
        unexpected.Should().BeEmpty();

        h.Time.Advance(ttl);
        h.Guard.SweepReservations();
        BudgetUsage swept = Row(h, "conc");
        swept.Held.Should().Be(0);
        swept.Used.Should().Be(0);
        swept.Remaining.Should().Be(3);
        foreach (Reservation late in abandoned)
        {
            Func<Task> settle = () => late.SettleAsync(1).AsTask();
            await settle.Should().ThrowAsync<ReservationStateException>();
        }

        Row(h, "conc").Remaining.Should().Be(3, "a reclaimed slot is not given back a second time by a late settlement");

        var after = new InFlightTracker();
        int admittedAfter = 0;
        await StormAsync(200, i =>
        {
            var random = new Random((seed * 7919) + i);
            ReservationResult r = Reserve(h, Request(1, ttl: ttl));
            if (!r.IsAdmitted)
            {
                CheckConcurrencyDenial(r, unexpected);
                return;
            }

            Interlocked.Increment(ref admittedAfter);
            after.Enter();
            Thread.SpinWait(random.Next(0, 1000));
            after.Leave();
            r.Reservation.SettleAsync(1).AsTask().Wait();
        });

        unexpected.Should().BeEmpty();
        admittedAfter.Should().BeGreaterThan(0);
        after.Max.Should().BeInRange(1, 3);
        Row(h, "conc").Held.Should().Be(0);
        Row(h, "conc").Remaining.Should().Be(3);
        h.Ledger.GetBalance(Customer).Held.ToDecimal().Should().Be(0);
    }

    /// <summary>
    /// Settlements racing the sweep at the TTL: each reservation is settled or expired, never both, so each slot comes back exactly
    /// once. At the deadline the two reservations due expire whoever gets there first; one tick before it, every settlement wins.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    public async Task SettleAndSweep_RacingAtTheTtl_GiveEachSlotBackExactlyOnce(int seed)
    {
        await using GuardHarness h = await StartAsync(InFlight(3));
        await h.GrantAsync(Customer, 10_000);
        var random = new Random(seed);
        decimal charged = 0;
        for (int round = 0; round < 40; round++)
        {
            bool due = random.Next(2) == 0;
            var held = new[]
            {
                (await h.Gate.ReserveAsync(Request(1, ttl: TimeSpan.FromSeconds(10)))).Reservation,
                (await h.Gate.ReserveAsync(Request(1, ttl: TimeSpan.FromSeconds(10)))).Reservation,
                (await h.Gate.ReserveAsync(Request(1, ttl: TimeSpan.FromSeconds(20)))).Reservation,
            };
            held.Should().OnlyContain(r => r.IsValid);
            (await h.Gate.ReserveAsync(Request(1))).Status.Should().Be(ReservationStatus.ConcurrencyLimited);
            h.Time.Advance(due ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(10) - TimeSpan.FromTicks(1));

            var outcomes = new string[3];
            await StormAsync(6, i =>
            {
                if (i >= 3)
                {
                    h.Guard.SweepReservations();
                    return;
                }

                try
                {
                    held[i].SettleAsync(1).AsTask().Wait();
                    outcomes[i] = "settled";
                }
                catch (Exception ex) when (ex is ReservationStateException || ex.InnerException is ReservationStateException)
                {
                    outcomes[i] = "expired";
                }
            });

            outcomes.Should().Equal(due ? new[] { "expired", "expired", "settled" } : new[] { "settled", "settled", "settled" });
            charged += due ? 1 : 3;
            BudgetUsage row = Row(h, "conc");
            row.Held.Should().Be(0, $"round {round}");
            row.Used.Should().Be(0, $"round {round}");
            row.Remaining.Should().Be(3, $"round {round}");
            h.Time.Advance(TimeSpan.FromSeconds(30));
        }

        WalletBalance wallet = h.Ledger.GetBalance(Customer);
        wallet.Balance.ToDecimal().Should().Be(10_000 - charged);
        wallet.Held.ToDecimal().Should().Be(0);
    }

    /// <summary>
    /// The documented lazy release ("no background work is needed for it to be correct"; a slot "frees when one of them settles, is
    /// released or expires"): with the sweep off, a budget full of holds past their TTL must still admit.
    /// </summary>
    [TestCase(LimitMeasure.InFlight)]
    [TestCase(LimitMeasure.Credits)]
    public async Task Reserve_BudgetFullOfHoldsPastTheirTtl_AdmitsWithoutABackgroundSweep(LimitMeasure measure)
    {
        var governance = new GovernanceOptions();
        CustomerGovernanceOptions customer = TreeOnly();
        BudgetOptions budget = measure == LimitMeasure.InFlight ? InFlightBudget(3) : CreditBudget("conc", null, 3, "month");
        customer.Budgets.Add(budget);
        governance.Customers.Add(customer);
        await using GuardHarness h = await StartAsync(governance);
        await h.GrantAsync(Customer, 10_000);
        for (int i = 0; i < 3; i++)
        {
            (await h.Gate.ReserveAsync(Request(1, ttl: TimeSpan.FromMinutes(1)))).Status.Should().Be(ReservationStatus.Admitted);
        }

        h.Time.Advance(TimeSpan.FromMinutes(1));

        var tracker = new InFlightTracker();
        int admitted = 0;
        var statuses = new ConcurrentQueue<ReservationStatus>();
        await StormAsync(50, _ =>
        {
            ReservationResult r = Reserve(h, Request(1, ttl: TimeSpan.FromMinutes(1)));
            statuses.Enqueue(r.Status);
            if (r.IsAdmitted)
            {
                Interlocked.Increment(ref admitted);
                tracker.Enter();
                tracker.Leave();
                r.Reservation.ReleaseAsync().AsTask().Wait();
            }
        });

        admitted.Should().BeGreaterThan(0, "every hold in the budget expired a TTL ago; statuses: " + string.Join(", ", statuses.Distinct()));
        tracker.Max.Should().BeLessThanOrEqualTo(3);
    }

    /// <summary>
    /// A per-session budget of 50 credits and 600 requests on one session from 200 threads: at most 50 credits are admitted; once a
    /// thread has seen the session refused, every request it or any other thread starts afterwards is refused by the breaker. Another
    /// session and requests without a session are not affected; a reset admits again, and the breaker holds again on a second storm.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task Reserve_ManyThreadsOnOneSession_BreakerAdmitsAtMostTheCapAndRefusesEverythingAfterTheTrip(int seed)
    {
        var governance = new GovernanceOptions();
        CustomerGovernanceOptions customer = TreeOnly();
        var run = new BudgetOptions { Id = "run", PerSession = true };
        run.Limits.Add(new BudgetLimitOptions { Measure = LimitMeasure.Credits, Amount = 50 });
        customer.Budgets.Add(run);
        governance.Customers.Add(customer);
        await using GuardHarness h = await StartAsync(governance);
        await h.GrantAsync(Customer, 10_000);
        long spentCents = 0;

        for (int epoch = 0; epoch < 2; epoch++)
        {
            int tripped = 0;
            long admittedCents = 0;
            int refusals = 0;
            int otherAdmitted = 0;
            var violations = new ConcurrentQueue<string>();
            await StormAsync(240, i =>
            {
                var random = new Random((seed * 1000) + (epoch * 500) + i);
                if (i >= 200)
                {
                    // 20 requests on session s2 (20 credits in all, under its own 50) and 20 without a session.
                    string? other = i < 220 ? "s2-" + epoch : null;
                    ReservationResult o = Reserve(h, Request(1, UserPath(i % Users), other));
                    if (o.IsAdmitted)
                    {
                        Interlocked.Increment(ref otherAdmitted);
                        o.Reservation.SettleAsync(1).AsTask().Wait();
                        Interlocked.Add(ref spentCents, 100);
                    }

                    return;
                }

                for (int k = 0; k < 3; k++)
                {
                    int cents = random.Next(100, 501);
                    bool afterTrip = Volatile.Read(ref tripped) == 1;
                    ReservationResult r = Reserve(h, Request(cents / 100m, UserPath(i % Users), "s1"));
                    if (r.IsAdmitted)
                    {
                        if (afterTrip)
                        {
                            violations.Enqueue($"admitted {cents / 100m} after the session was seen tripped");
                        }

                        Interlocked.Add(ref admittedCents, cents);
                        Thread.SpinWait(random.Next(0, 300));
                        r.Reservation.SettleAsync(cents / 100m).AsTask().Wait();
                        continue;
                    }

                    Interlocked.Increment(ref refusals);
                    Volatile.Write(ref tripped, 1);
                    if (r.Status != ReservationStatus.SessionTripped || r.Budget?.BudgetId != "run" || r.Budget?.SessionId != "s1")
                    {
                        violations.Enqueue($"refused with {r.Status} by {r.Budget?.BudgetId} ({r.Scope})");
                    }

                    if (r.Scope is not ("session:s1" or "budget:run"))
                    {
                        violations.Enqueue($"scope {r.Scope}");
                    }
                }
            });

            violations.Should().BeEmpty($"epoch {epoch}");
            refusals.Should().BeGreaterThan(0);
            otherAdmitted.Should().Be(40, "another session under its cap and requests without a session are not affected by s1's breaker");
            (admittedCents / 100m).Should().BeLessThanOrEqualTo(50);
            spentCents += admittedCents;

            BudgetUsage s1 = Row(h, "run", "s1");
            s1.SessionId.Should().Be("s1");
            s1.Used.Should().Be(admittedCents / 100m);
            s1.Held.Should().Be(0);
            s1.Tripped.Should().BeTrue();
            BudgetUsage s2 = Row(h, "run", "s2-" + epoch);
            s2.Used.Should().Be(20);
            s2.Tripped.Should().BeFalse();

            ReservationResult still = await h.Gate.ReserveAsync(Request(0.000001m, UserPath(0), "s1"));
            still.Status.Should().Be(ReservationStatus.SessionTripped);
            still.Scope.Should().Be("session:s1");

            h.Governance.ResetSession(Customer, "s1").Should().BeTrue();
            BudgetUsage reset = Row(h, "run", "s1");
            reset.Used.Should().Be(0);
            reset.Tripped.Should().BeFalse();
        }

        (await h.Gate.ReserveAsync(Request(50, UserPath(0), "s1"))).Status.Should().Be(ReservationStatus.Admitted, "a reset session starts from nothing");
        WalletBalance wallet = h.Ledger.GetBalance(Customer);
        wallet.Balance.ToDecimal().Should().Be(10_000 - (spentCents / 100m));
        wallet.Held.ToDecimal().Should().Be(50);
    }

    /// <summary>
    /// 300 threads settle 1 credit each into a budget of 100 with alerts at 50% and 100%: many settlements cross each threshold
    /// together, and exactly one alert per threshold is delivered. In the next month's window both are raised again, once each.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task Settle_ManyThreadsCrossingThresholds_RaisesEachAlertOncePerWindow(int seed)
    {
        var governance = new GovernanceOptions();
        CustomerGovernanceOptions customer = TreeOnly();
        BudgetOptions budget = CreditBudget("alerts", "search", 100, "month");
        budget.Limits[0].AlertAt.Add("50%");
        budget.Limits[0].AlertAt.Add("100%");
        customer.Budgets.Add(budget);
        governance.Customers.Add(customer);
        await using GuardHarness h = await StartAsync(governance);
        await h.GrantAsync(Customer, 10_000);
        var alerts = new ConcurrentQueue<UsageAlert>();
        h.Governance.AlertRaised += (_, alert) => alerts.Enqueue(alert);

        foreach ((DateTimeOffset month, DateTimeOffset next) in new[] { (August, September), (September, new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero)) })
        {
            h.Time.SetUtcNow(month + TimeSpan.FromDays(3));
            int before = alerts.Count;
            int admitted = await StormAdmitAndSettleAsync(h, 300, seed, UserPath);
            admitted.Should().Be(100);

            UsageAlert[] raised = (await AlertsAsync(alerts, before + 2)).Skip(before).ToArray();
            raised.Select(a => a.Threshold).Should().BeEquivalentTo(new[] { "50%", "100%" }, $"one alert per threshold in the window of {month:yyyy-MM}");
            foreach (UsageAlert alert in raised)
            {
                alert.CustomerId.Should().Be(Customer);
                alert.BudgetId.Should().Be("alerts");
                alert.Subject.Should().Be("search");
                alert.Measure.Should().Be(LimitMeasure.Credits);
                alert.Window.Should().Be(UsageWindow.Month);
                alert.WindowStart.Should().Be(month);
                alert.WindowEnd.Should().Be(next);
                alert.Limit.Should().Be(100);
                alert.ThresholdAmount.Should().Be(alert.Threshold == "50%" ? 50 : 100);
                alert.Used.Should().BeInRange(alert.ThresholdAmount, 100);
            }

            // The window is full: another storm is refused whole and raises nothing.
            (await StormAdmitAndSettleAsync(h, 100, seed + 1, UserPath)).Should().Be(0);
            await Task.Delay(100);
            alerts.Should().HaveCount(before + 2);
        }
    }

    /// <summary>
    /// 40 requests per minute, 200 asked at once: exactly 40 are admitted, the rest refused with the window's end. One tick before the
    /// next minute it is still full; at the minute's first tick it admits exactly 40 afresh, and reservations admitted in the old
    /// minute and settled in the new one do not count in it.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task Reserve_RequestsPerMinuteFromManyTasks_AdmitsExactlyTheLimitInEachMinute(int seed)
    {
        var governance = new GovernanceOptions();
        CustomerGovernanceOptions customer = TreeOnly();
        var rpm = new BudgetOptions { Id = "rpm" };
        rpm.Limits.Add(new BudgetLimitOptions { Measure = LimitMeasure.Requests, Amount = 40, Window = "minute" });
        customer.Budgets.Add(rpm);
        governance.Customers.Add(customer);
        await using GuardHarness h = await StartAsync(governance, durable: true);
        await h.GrantAsync(Customer, 10_000);
        DateTimeOffset minute = August + TimeSpan.FromHours(9);
        h.Time.SetUtcNow(minute + TimeSpan.FromSeconds(30));

        var carried = new ConcurrentQueue<Reservation>();
        (int admitted, ConcurrentQueue<ReservationResult> denials) = await RateStormAsync(h, seed, carried);
        admitted.Should().Be(40);
        denials.Should().HaveCount(160);
        foreach (ReservationResult denial in denials)
        {
            denial.Status.Should().Be(ReservationStatus.RateLimited);
            denial.Scope.Should().Be("budget:rpm");
            denial.RetryAfter.Should().Be(TimeSpan.FromSeconds(30));
            denial.Budget!.Value.Measure.Should().Be(LimitMeasure.Requests);
            denial.Budget.Value.Window.Should().Be(UsageWindow.Minute);
            denial.Budget.Value.Limit.Should().Be(40);
            denial.Budget.Value.Used.Should().Be(40);
            denial.Budget.Value.WindowEnd.Should().Be(minute.AddMinutes(1));
        }

        carried.Should().HaveCount(10);
        h.Time.SetUtcNow(minute.AddMinutes(1) - TimeSpan.FromTicks(1));
        ReservationResult last = await h.Gate.ReserveAsync(Request(1));
        last.Status.Should().Be(ReservationStatus.RateLimited);
        last.RetryAfter.Should().Be(TimeSpan.FromTicks(1));

        h.Time.SetUtcNow(minute.AddMinutes(1));
        (int afresh, ConcurrentQueue<ReservationResult> later) = await RateStormAsync(h, seed + 100, null);
        afresh.Should().Be(40, "the next minute starts from nothing at its first tick");
        later.Should().OnlyContain(d => d.Status == ReservationStatus.RateLimited && d.Budget!.Value.WindowEnd == minute.AddMinutes(2));

        foreach (Reservation old in carried)
        {
            await old.SettleAsync(1);
        }

        BudgetUsage row = Row(h, "rpm");
        row.WindowStart.Should().Be(minute.AddMinutes(1));
        row.Used.Should().Be(40, "the old minute's reservations settle into the old minute");
        row.Held.Should().Be(0);
        h.Ledger.GetBalance(Customer).Balance.ToDecimal().Should().Be(10_000 - 80);
    }

    /// <summary>
    /// The clock crosses into the next minute in the middle of a storm (one of the threads moves it): whatever window each request is
    /// counted in, neither the old minute nor the new one admits more than the limit.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task Reserve_ClockCrossesTheMinuteDuringAStorm_NeitherMinuteAdmitsMoreThanTheLimit(int seed)
    {
        var governance = new GovernanceOptions();
        CustomerGovernanceOptions customer = TreeOnly();
        var rpm = new BudgetOptions { Id = "rpm" };
        rpm.Limits.Add(new BudgetLimitOptions { Measure = LimitMeasure.Requests, Amount = 40, Window = "minute" });
        customer.Budgets.Add(rpm);
        governance.Customers.Add(customer);
        await using GuardHarness h = await StartAsync(governance);
        await h.GrantAsync(Customer, 10_000);
        DateTimeOffset next = August + TimeSpan.FromHours(9);
        h.Time.SetUtcNow(next - TimeSpan.FromMilliseconds(1));
        int admitted = 0;
        int crossAt = new Random(seed).Next(20, 120);

        await StormAsync(300, i =>
        {
            if (i == crossAt)
            {
                h.Time.SetUtcNow(next);
            }

            ReservationResult r = Reserve(h, Request(1));
            if (r.IsAdmitted)
            {
                Interlocked.Increment(ref admitted);
                r.Reservation.SettleAsync(1).AsTask().Wait();
            }
            else
            {
                r.Status.Should().Be(ReservationStatus.RateLimited);
            }
        });

        BudgetUsage row = Row(h, "rpm");
        row.WindowStart.Should().Be(next);
        row.Held.Should().Be(0);
        row.Used.Should().BeInRange(0, 40);
        (admitted - row.Used).Should().BeInRange(0, 40, "the minute before the crossing admitted the rest");
        h.Ledger.GetBalance(Customer).Balance.ToDecimal().Should().Be(10_000 - admitted);
    }

    private static async Task<(int Admitted, ConcurrentQueue<ReservationResult> Denials)> RateStormAsync(GuardHarness h, int seed, ConcurrentQueue<Reservation>? carry)
    {
        int admitted = 0;
        var denials = new ConcurrentQueue<ReservationResult>();
        await Parallel.ForAsync(0, 200, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
        {
            var random = new Random((seed * 1000) + i);
            await Task.Yield();
            Thread.SpinWait(random.Next(0, 200));
            ReservationResult r = await h.Gate.ReserveAsync(Request(1), ct);
            if (!r.IsAdmitted)
            {
                denials.Enqueue(r);
                return;
            }

            // The first ten admitted stay unsettled across the minute's end when asked to.
            if (Interlocked.Increment(ref admitted) <= 10 && carry is not null)
            {
                carry.Enqueue(r.Reservation);
                return;
            }

            await r.Reservation.SettleAsync(1, ct);
        });
        return (admitted, denials);
    }

    private static async Task<int> StormAdmitAndSettleAsync(GuardHarness h, int threads, int seed, Func<int, string> subject)
    {
        int admitted = 0;
        await StormAsync(threads, i =>
        {
            var random = new Random((seed * 1000) + i);
            ReservationRequest request = Request(1, subject(i % Users));
            if (random.Next(4) == 0)
            {
                if (h.Gate.ConsumeAsync(request).AsTask().Result.IsAdmitted)
                {
                    Interlocked.Increment(ref admitted);
                }

                return;
            }

            ReservationResult r = Reserve(h, request);
            if (r.IsAdmitted)
            {
                Interlocked.Increment(ref admitted);
                Thread.SpinWait(random.Next(0, 300));
                r.Reservation.SettleAsync(1).AsTask().Wait();
            }
        });
        return admitted;
    }

    /// <summary>Waits for the alerts (delivered off the request path) to reach <paramref name="expected"/>, then a little longer for a duplicate to show up.</summary>
    private static async Task<UsageAlert[]> AlertsAsync(ConcurrentQueue<UsageAlert> alerts, int expected)
    {
        var clock = Stopwatch.StartNew();
        while (alerts.Count < expected && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(5);
        }

        await Task.Delay(150);
        return [.. alerts];
    }

    private static void CheckConcurrencyDenial(ReservationResult r, ConcurrentQueue<string> unexpected)
    {
        if (r.Status != ReservationStatus.ConcurrencyLimited || r.Scope != "budget:conc" || r.Budget is not { Measure: LimitMeasure.InFlight, Limit: 3, Window: null })
        {
            unexpected.Enqueue($"{r.Status} {r.Scope} {r.Budget}");
        }
    }

    /// <summary>Polls every limit while a storm runs: used and held together never pass a hard cap, so nothing is ever overage.</summary>
    private static Task MonitorAsync(GuardHarness h, Action violation, CancellationToken stop) => Task.Run(() =>
    {
        while (!stop.IsCancellationRequested)
        {
            foreach (BudgetUsage row in h.Governance.GetBudgetUsage(Customer))
            {
                if (row.Used + row.Held > row.Limit || row.Overage != 0 || row.Held < 0 || row.Held > row.Limit)
                {
                    violation();
                }
            }

            Thread.Yield();
        }
    }, CancellationToken.None);

    /// <summary>Runs <paramref name="count"/> dedicated threads released together by a barrier, and waits for all of them.</summary>
    private static async Task StormAsync(int count, Action<int> body)
    {
        using var start = new Barrier(count);
        var workers = new Task[count];
        for (int i = 0; i < count; i++)
        {
            int index = i;
            workers[i] = Task.Factory.StartNew(
                () =>
                {
                    start.SignalAndWait();
                    body(index);
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
        }

        await Task.WhenAll(workers);
    }

    private static Task<GuardHarness> StartAsync(GovernanceOptions governance, bool durable = false) =>
        GuardHarness.StartAsync(
            o => o.SettlementDurability = durable ? Durability.Durable : Durability.WriteBehind,
            new ManualTimeProvider(August),
            governance: governance);

    private static ReservationRequest Request(decimal amount, string? subject = null, string? session = null, TimeSpan? ttl = null) =>
        new() { CustomerId = Customer, Amount = amount, Subject = subject, SessionId = session, Ttl = ttl };

    private static ReservationResult Reserve(GuardHarness h, ReservationRequest request) => h.Gate.ReserveAsync(request).AsTask().Result;

    private static (ReservationStatus Status, string? Scope, BudgetDenial? Budget) Consume(GuardHarness h, ReservationRequest request)
    {
        ConsumeResult r = h.Gate.ConsumeAsync(request).AsTask().Result;
        return (r.Status, r.Scope, r.Budget);
    }

    private static (ReservationStatus Status, string? Scope, BudgetDenial? Budget) ReserveAndSettle(GuardHarness h, ReservationRequest request, decimal actual)
    {
        ReservationResult r = Reserve(h, request);
        if (r.IsAdmitted)
        {
            Thread.SpinWait(100);
            r.Reservation.SettleAsync(actual).AsTask().Wait();
        }

        return (r.Status, r.Scope, r.Budget);
    }

    private static BudgetUsage Row(GuardHarness h, string budgetId, string? sessionId = null) =>
        h.Governance.GetBudgetUsage(Customer, null, sessionId).Single(r => r.BudgetId == budgetId && r.SessionId == sessionId);

    /// <summary>Users 0-9 are under search, 10-19 under ads.</summary>
    private static string UserNode(int u) => u < Users ? "user" + u : "ad" + (u - Users);

    private static string UserPath(int u) => u < Users ? "org/eng/search/" + UserNode(u) : "org/eng/ads/" + UserNode(u);

    private static string[] PathBudgets(int u) => ["org", u < Users ? "team-search" : "team-ads", "user-" + UserNode(u)];

    /// <summary>org → eng → search → user0..9 and org → eng → ads → ad0..9, without budgets.</summary>
    private static CustomerGovernanceOptions TreeOnly()
    {
        var customer = new CustomerGovernanceOptions { CustomerId = Customer };
        customer.Subjects.Add(new SubjectOptions { Id = "org" });
        customer.Subjects.Add(new SubjectOptions { Id = "eng", Parent = "org" });
        customer.Subjects.Add(new SubjectOptions { Id = "search", Parent = "eng" });
        customer.Subjects.Add(new SubjectOptions { Id = "ads", Parent = "eng" });
        for (int u = 0; u < 2 * Users; u++)
        {
            customer.Subjects.Add(new SubjectOptions { Id = UserNode(u), Parent = u < Users ? "search" : "ads" });
        }

        return customer;
    }

    /// <summary>The tree with a monthly hard credit budget on org, on each team and on each user (eng has none).</summary>
    private static GovernanceOptions Tree(decimal org, decimal team, decimal user)
    {
        CustomerGovernanceOptions customer = TreeOnly();
        customer.Budgets.Add(CreditBudget("org", "org", org, "month"));
        customer.Budgets.Add(CreditBudget("team-search", "search", team, "month"));
        customer.Budgets.Add(CreditBudget("team-ads", "ads", team, "month"));
        for (int u = 0; u < 2 * Users; u++)
        {
            customer.Budgets.Add(CreditBudget("user-" + UserNode(u), UserNode(u), user, "month"));
        }

        var governance = new GovernanceOptions();
        governance.Customers.Add(customer);
        return governance;
    }

    private static GovernanceOptions InFlight(int amount)
    {
        CustomerGovernanceOptions customer = TreeOnly();
        customer.Budgets.Add(InFlightBudget(amount));
        var governance = new GovernanceOptions();
        governance.Customers.Add(customer);
        return governance;
    }

    private static BudgetOptions InFlightBudget(int amount)
    {
        var budget = new BudgetOptions { Id = "conc" };
        budget.Limits.Add(new BudgetLimitOptions { Measure = LimitMeasure.InFlight, Amount = amount });
        return budget;
    }

    private static BudgetOptions CreditBudget(string id, string? subject, decimal amount, string? window)
    {
        var budget = new BudgetOptions { Id = id, Subject = subject };
        budget.Limits.Add(new BudgetLimitOptions { Measure = LimitMeasure.Credits, Amount = amount, Window = window, Enforcement = LimitEnforcement.Hard });
        return budget;
    }

    /// <summary>Counts admitted reservations the test holds and remembers the most seen at once.</summary>
    private sealed class InFlightTracker
    {
        private int _current;
        private int _max;

        public int Max => Volatile.Read(ref _max);

        public void Enter()
        {
            int now = Interlocked.Increment(ref _current);
            int seen = Volatile.Read(ref _max);
            while (now > seen)
            {
                int previous = Interlocked.CompareExchange(ref _max, now, seen);
                if (previous == seen)
                {
                    return;
                }

                seen = previous;
            }
        }

        public void Leave() => Interlocked.Decrement(ref _current);
    }
}
