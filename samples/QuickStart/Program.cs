using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using UsageGuard;

// The ledger lives in a SQLite file in the working directory. The sample starts a fresh one each run, so its output
// is the same every time; delete these lines and the balances and history carry over from run to run.
const string LedgerFile = "quickstart.db";
foreach (string suffix in new[] { "", "-wal", "-shm", "-head", "-index", "-index-wal", "-index-shm" })
{
    File.Delete(LedgerFile + suffix);
}

// Dispose the provider asynchronously (await using): that commits whatever the ledger writer still has queued.
ServiceProvider services = Build();

var ledger = services.GetRequiredService<ICreditLedger>();
var guard = services.GetRequiredService<IEntitlementGuard>();
var clock = services.GetRequiredService<TimeProvider>();
var model = new FakeChatModel();
const string Customer = "acme";

Console.WriteLine($"UsageGuard quick start (ledger in {LedgerFile})");

// 1. Two blocks with different burn attributes. Same priority, so expiry decides: the block that expires burns first,
//    the one that never expires burns last.
Heading("1. Grant credits");
GrantResult paid = await ledger.GrantAsync(new CreditGrant
{
    CustomerId = Customer,
    Amount = 100m,
    Category = CreditCategory.Paid,
    CostBasis = 0.01m,
    Metadata = new Dictionary<string, string> { ["invoice"] = "INV-1001" },
});
GrantResult promo = await ledger.GrantAsync(new CreditGrant
{
    CustomerId = Customer,
    Amount = 10m,
    Category = CreditCategory.Promotional,
    ExpiresAt = clock.GetUtcNow().AddDays(30),
});
var names = new Dictionary<Guid, string> { [paid.Block.Id] = "paid", [promo.Block.Id] = "promo" };
foreach (GrantResult grant in new[] { paid, promo })
{
    CreditBlock b = grant.Block;
    Console.WriteLine($"   {names[b.Id],-6} {b.Amount,7} {b.Category,-12} priority {b.Priority}  {Expiry(b)}");
}

// 2. Reserve the worst case before the model runs: the prompt plus the most output the request allows.
Heading("2. Reserve an estimate before the model runs");
const string Prompt = "Summarise the attached 30-page contract.";
const int MaxOutputTokens = 4096;
int promptTokens = model.CountTokens(Prompt);
decimal estimate = FakeChatModel.Price(promptTokens, MaxOutputTokens);
ReservationResult reserved = await guard.ReserveAsync(new ReservationRequest
{
    CustomerId = Customer,
    Amount = estimate,
    Subject = "acme/legal/agent:summariser",
    Feature = "chat.completions",
    Model = FakeChatModel.Name,
    RequestId = "req-0001",
});
if (!reserved.IsAdmitted)
{
    throw new InvalidOperationException($"Unexpected denial: {reserved.Reason}");
}

Reservation reservation = reserved.Reservation;
Console.WriteLine($"   estimate for {promptTokens} prompt + {MaxOutputTokens} output tokens: {estimate}");
Console.WriteLine($"   admitted: reservation {reservation.Id} holds {reservation.Held} until {reservation.ExpiresAt:HH:mm:ss}Z");
WalletBalance inFlight = ledger.GetBalance(Customer);
PrintWallet(inFlight);
foreach (CreditBlockBalance block in inFlight.Blocks)
{
    Console.WriteLine($"   held on {names[block.Block.Id]}: {block.Held}");
}

// 3. Run the model, then settle what it really cost; the rest of the hold is released.
Heading("3. Run the model (fake) and settle the actual cost");
ChatUsage usage = await model.CompleteAsync(Prompt, MaxOutputTokens);
decimal actual = FakeChatModel.Price(usage.InputTokens, usage.OutputTokens);
SettlementResult settled = await reservation.SettleAsync(actual);
Console.WriteLine($"   the model used {usage.InputTokens} input + {usage.OutputTokens} output tokens: {actual}");
Console.WriteLine($"   charged {settled.Charged}, released {settled.Released}");
try
{
    await reservation.SettleAsync(actual);
}
catch (ReservationStateException)
{
    Console.WriteLine($"   settling the same handle again throws {nameof(ReservationStateException)}");
}

// 4. The actual cost exceeds the hold. The default overrun policy, Reject, charges the hold only and
//    records the excess as an Overage entry for billing; the wallet never pays more than it held.
Heading("4. Settle above the hold (default policy: Reject)");
decimal smallEstimate = FakeChatModel.Price(200, 500);
ReservationResult small = await guard.ReserveAsync(new ReservationRequest
{
    CustomerId = Customer,
    Amount = smallEstimate,
    Feature = "chat.completions",
    Model = FakeChatModel.Name,
    RequestId = "req-0002",
});
SettlementResult overrun = await small.Reservation.SettleAsync(FakeChatModel.Price(200, 900));
Console.WriteLine($"   held {overrun.Held}, actual {overrun.Actual}: charged {overrun.Charged}, overage {overrun.Overage}");

// 5. A request the wallet cannot cover is denied up front, with a reason and the pool that denied it.
//    Nothing is held anywhere.
Heading("5. A request the wallet cannot cover");
ReservationResult denied = await guard.ReserveAsync(new ReservationRequest
{
    CustomerId = Customer,
    Amount = 500m,
    Feature = "chat.completions",
    RequestId = "req-0003",
});
Console.WriteLine($"   {denied.Status} at {denied.Scope}: {denied.Reason}");

Heading("6. Balances");
WalletBalance wallet = ledger.GetBalance(Customer);
PrintWallet(wallet);
Console.WriteLine($"   {"block",-6} {"state",-9} {"granted",8} {"used",8} {"held",8} {"remaining",10}");
foreach (CreditBlockBalance block in wallet.Blocks)
{
    Console.WriteLine($"   {names[block.Block.Id],-6} {block.State,-9} {block.Block.Amount,8} {block.Used,8} {block.Held,8} {block.Remaining,10}");
}

// Every change is an entry with the wallet's posted balance before and after it, in ledger order.
Heading("7. Ledger history");
Console.WriteLine($"   {"seq",3}  {"kind",-8} {"block",-6} {"amount",8} {"before",8} -> {"after",-8} {"request"}");
foreach (LedgerEntry entry in await ledger.GetHistoryAsync(new LedgerQuery { CustomerId = Customer }))
{
    string block = entry.BlockId is { } id ? names[id] : "-";
    string amount = (entry.Amount.Units > 0 ? "+" : string.Empty) + entry.Amount;
    Console.WriteLine($"   {entry.Sequence,3}  {entry.Kind,-8} {block,-6} {amount,8} {entry.BalanceBefore,8} -> {entry.BalanceAfter,-8} {entry.RequestId ?? "-"}");
}

// Each entry's SHA-256 covers its fields and the previous entry's hash; verification recomputes all of them.
Heading("8. Verify the hash chain");
LedgerVerificationResult verification = await ledger.VerifyAsync();
Console.WriteLine($"   {verification}");

// Stop and start again, as a new process would: start-up loads the newest snapshot and replays the entries after it.
Heading("9. Restart from the file");
await services.DisposeAsync();
await using (ServiceProvider restarted = Build())
{
    var reopened = restarted.GetRequiredService<ICreditLedger>();
    PrintWallet(reopened.GetBalance(Customer));
    verification = await reopened.VerifyAsync();
    Console.WriteLine($"   {verification}");
}

return verification.IsValid ? 0 : 1;

static ServiceProvider Build() => new ServiceCollection()
    .AddUsageGuard(o => o.CreditTypes.Add(new CreditTypeOptions { Code = "credits", Scale = 2 }))
    .UseSqlite(LedgerFile)
    .Services
    .BuildServiceProvider();

static void Heading(string text)
{
    Console.WriteLine();
    Console.WriteLine(text);
}

static void PrintWallet(WalletBalance w) =>
    Console.WriteLine($"   wallet: balance {w.Balance}, held {w.Held}, available {w.Available}, owed {w.Owed}");

static string Expiry(CreditBlock block) =>
    block.ExpiresAt is { } at ? "expires " + at.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : "never expires";

/// <summary>Token counts a model reports for one call.</summary>
internal readonly record struct ChatUsage(int InputTokens, int OutputTokens);

/// <summary>Stands in for a real model: deterministic token counts, a price list, no network.</summary>
internal sealed class FakeChatModel
{
    public const string Name = "fake-gpt";

    private const decimal InputPrice = 0.002m;
    private const decimal OutputPrice = 0.006m;

    public int CountTokens(string prompt) => 400 + (prompt.Length / 4);

    public async Task<ChatUsage> CompleteAsync(string prompt, int maxOutputTokens)
    {
        await Task.Delay(10);
        return new ChatUsage(CountTokens(prompt), Math.Min(2257, maxOutputTokens));
    }

    /// <summary>Prices a call in credits at scale 2.</summary>
    /// <remarks>UsageGuard never rounds: an amount with more decimal places than the credit type's scale is rejected.
    /// The price is rounded up to the cent here, explicitly.</remarks>
    public static decimal Price(int inputTokens, int outputTokens) =>
        Math.Round((inputTokens * InputPrice) + (outputTokens * OutputPrice), 2, MidpointRounding.ToPositiveInfinity);
}
