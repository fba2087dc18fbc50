using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using UsageGuard;
using UsageGuard.PostgreSql;

// One application instance on a shared PostgreSQL store (ManyInstances). Arguments: mode connection-string schema threads lease-ttl-seconds.
//   drain: waits until customer "acme" has credits, then reserves and settles whole credits on every thread until not even one is
//          left anywhere; prints "ready", then "spent <credits>", and exits (returning its leases).
//   hold:  spends a few credits, prints "holding <credits spent>", and waits to be killed (its lease is never returned).
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
    });
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

var workers = new Task[threads];
for (int t = 0; t < threads; t++)
{
    workers[t] = Task.Run(async () =>
    {
        int refusedInARow = 0;
        while (refusedInARow < 40)
        {
            ReservationResult r = await guard.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = refusedInARow > 0 ? 1m : 2m });
            if (!r.IsAdmitted)
            {
                refusedInARow++;
                await Task.Delay(25);
                continue;
            }

            refusedInARow = 0;
            decimal actual = r.Reservation.Held.ToDecimal() == 2m && Random.Shared.Next(2) == 0 ? 2m : 1m;
            await r.Reservation.SettleAsync(actual);
            Interlocked.Add(ref spent, (long)actual);
        }
    });
}

await Task.WhenAll(workers);
Console.WriteLine($"spent {spent}");
