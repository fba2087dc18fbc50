// Settles 1-credit reservations against a SQLite ledger from several loops until the process is killed, printing
// "ack <reservationId>" once each settlement's call has completed. The crash-recovery tests kill it with SIGKILL at a
// random moment and check that the ledger on disk holds what was acknowledged.
//
// Usage: UsageGuard.Sqlite.CrashHost <dbPath> <durable|writebehind> [queueCapacity] [maxBatchSize]
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using UsageGuard;

const string Customer = "acme";
const decimal Seed = 1_000_000_000m;
const int Loops = 4;

if (args.Length is < 2 or > 4)
{
    await Console.Error.WriteLineAsync("usage: UsageGuard.Sqlite.CrashHost <dbPath> <durable|writebehind> [queueCapacity] [maxBatchSize]");
    return 2;
}

string dbPath = args[0];
Durability durability = args[1] switch
{
    "durable" => Durability.Durable,
    "writebehind" => Durability.WriteBehind,
    _ => throw new ArgumentException($"Unknown durability '{args[1]}'; expected 'durable' or 'writebehind'.", nameof(args)),
};
int? queueCapacity = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : null;
int? maxBatchSize = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : null;

var services = new ServiceCollection();

// Warnings and errors (a failed append, a projection problem, a stopped writer) go to stderr, which the tests require to
// stay empty; stdout carries only "ready" and the acks.
services.AddLogging(logging => logging
    .SetMinimumLevel(LogLevel.Warning)
    .AddSimpleConsole(o => o.SingleLine = true)
    .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
services.AddUsageGuard(o =>
    {
        o.CreditTypes.Add(new CreditTypeOptions { Code = "credits", Scale = 6 });
        o.SettlementDurability = durability;
        if (queueCapacity is int capacity)
        {
            o.LedgerQueueCapacity = capacity;
        }

        if (maxBatchSize is int batch)
        {
            o.MaxBatchSize = batch;
        }
    })
    .UseSqlite(dbPath);

// Never disposed on purpose: the process only ends by being killed, as a crash would end it.
ServiceProvider provider = services.BuildServiceProvider();
var ledger = provider.GetRequiredService<ICreditLedger>();
var guard = provider.GetRequiredService<IEntitlementGuard>();

try
{
    ledger.GetBalance(Customer);
}
catch (UnknownCustomerException)
{
    // Keyed: a run killed after this grant committed, but before "ready", must not grant twice on the next start
    // (the committed grant makes the customer known, and a replay of the key returns the first outcome).
    await ledger.GrantAsync(new CreditGrant { CustomerId = Customer, Amount = Seed, IdempotencyKey = "seed", Durability = Durability.Durable });
}

Console.Out.WriteLine("ready");

var loops = new Task[Loops];
for (int i = 0; i < loops.Length; i++)
{
    loops[i] = Task.Run(() => SettleForeverAsync(guard));
}

// A loop ends only by failing: report it, so the test fails with the reason instead of waiting for acks.
Task failed = await Task.WhenAny(loops);
await Console.Error.WriteLineAsync("loop failed: " + failed.Exception);
return 1;

static async Task SettleForeverAsync(IEntitlementGuard guard)
{
    var request = new ReservationRequest { CustomerId = Customer, Amount = 1m };
    while (true)
    {
        ReservationResult reserved = await guard.ReserveAsync(request);
        if (!reserved.IsAdmitted)
        {
            throw new InvalidOperationException($"Not admitted: {reserved.Status} {reserved.Reason}");
        }

        await guard.SettleAsync(reserved.Reservation, 1m);

        // After the settlement's call completed: with Durable, the ledger on disk holds it from here on. WriteLine on
        // Console.Out is synchronized and flushed, so lines never interleave.
        Console.Out.WriteLine("ack " + reserved.Reservation.Id.ToString(CultureInfo.InvariantCulture));
    }
}
