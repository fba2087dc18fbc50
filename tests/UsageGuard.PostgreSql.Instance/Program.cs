using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using UsageGuard;
using UsageGuard.PostgreSql;

// One application instance on a shared PostgreSQL store (ManyInstances). Arguments: mode connection-string schema threads lease-ttl-seconds.
//   drain: waits until customer "acme" has credits, then reserves and settles whole credits until not even one is left anywhere:
//          half the threads spend acme's wallet, the other half spend customer "beta"'s team budget ("search", 200 credits a
//          month; beta's wallet is far larger); prints "ready", then "spent <acme credits>" and "team <beta credits>", and exits
//          (returning its leases).
//   hold:  spends a few credits, prints "holding <credits spent>", and waits to be killed (its lease is never returned).
//   outbox: consumes one credit at a time, durably, keeping batches the store cannot take in the outbox directory given as a sixth
//          argument; prints "acked <n>" after each acknowledged consume, and runs until it is killed.
string mode = args[0];
int threads = int.Parse(args[3], CultureInfo.InvariantCulture);
var services = new ServiceCollection();
services.AddUsageGuard(o => o.ReservationSweepInterval = TimeSpan.Zero)
    .UsePostgreSql(o =>
    {
        o.ConnectionString = args[1];
        o.Schema = args[2];
        o.ManyInstances = true;
        o.Leases.LeaseTtl = TimeSpan.FromSeconds(int.Parse(args[4], CultureInfo.InvariantCulture));
        o.Leases.SweepGrace = TimeSpan.FromSeconds(1);
        o.StallTimeout = TimeSpan.FromSeconds(5);
        o.OutboxDirectory = args.Length > 5 ? args[5] : null;
    })
    .UseGovernance(g => g.Customers.Add(new CustomerGovernanceOptions
    {
        CustomerId = "beta",
        Subjects = { new SubjectOptions { Id = "search" }, new SubjectOptions { Id = "agent", Parent = "search" } },
        Budgets = { new BudgetOptions { Id = "search-team", Subject = "search", Limits = { new BudgetLimitOptions { Amount = 200, Window = "month" } } } },
    }));
await using ServiceProvider provider = services.BuildServiceProvider();
var ledger = provider.GetRequiredService<ICreditLedger>();
var guard = provider.GetRequiredService<IEntitlementGuard>();
while (true)
{
    try
    {
        if (ledger.GetBalance("acme").Balance.ToDecimal() > 0)
        {
            break;
        }
    }
    catch (UnknownCustomerException)
    {
    }

    await Task.Delay(20);
}

Console.WriteLine("ready");
long spent = 0;
if (mode == "hold")
{
    for (int i = 0; i < 5; i++)
    {
        ConsumeResult r = await guard.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m });
        if (r.IsAdmitted)
        {
            spent++;
        }
    }

    Console.WriteLine($"holding {spent}");
    await Task.Delay(Timeout.Infinite);
}

if (mode == "outbox")
{
    long acked = 0;
    while (true)
    {
        ConsumeResult r = await guard.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m, Durability = Durability.Durable });
        if (r.IsAdmitted)
        {
            Console.WriteLine($"acked {++acked}");
        }
        else
        {
            Console.WriteLine($"refused {r.Status}");
            await Task.Delay(20);
        }
    }
}

long team = 0;
var workers = new Task[threads];
for (int t = 0; t < threads; t++)
{
    bool forTeam = t % 2 == 1;
    workers[t] = Task.Run(async () =>
    {
        int refusedInARow = 0;
        while (refusedInARow < 40)
        {
            decimal amount = refusedInARow > 0 ? 1m : 2m;
            ReservationRequest request = forTeam
                ? new ReservationRequest { CustomerId = "beta", Subject = "agent", Amount = amount }
                : new ReservationRequest { CustomerId = "acme", Amount = amount };
            ReservationResult r = await guard.ReserveAsync(request);
            if (!r.IsAdmitted)
            {
                if (r.Status != (forTeam ? ReservationStatus.BudgetExceeded : ReservationStatus.InsufficientCredits))
                {
                    Console.Error.WriteLine($"unexpected refusal {r.Status}: {r.Reason}");
                }

                refusedInARow++;
                await Task.Delay(25);
                continue;
            }

            refusedInARow = 0;
            decimal actual = r.Reservation.Held.ToDecimal() == 2m && Random.Shared.Next(2) == 0 ? 2m : 1m;
            await r.Reservation.SettleAsync(actual);
            Interlocked.Add(ref forTeam ? ref team : ref spent, (long)actual);
        }
    });
}

await Task.WhenAll(workers);
Console.WriteLine($"spent {spent}");
Console.WriteLine($"team {team}");
