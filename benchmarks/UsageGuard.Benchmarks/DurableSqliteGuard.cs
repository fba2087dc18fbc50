using Microsoft.Extensions.Logging.Abstractions;
using UsageGuard.Sqlite;

namespace UsageGuard.Benchmarks;

/// <summary>
/// A guard over a SQLite ledger on a new temporary file, with default options (durable settlements, SQLite's default
/// store options: WAL, <c>synchronous=FULL</c>), and callers that reserve and settle durably. Shared by the group-commit
/// benchmark rows and <see cref="LatencyProbe"/>.
/// </summary>
internal sealed class DurableSqliteGuard : IAsyncDisposable
{
    private readonly ReservationRequest[] _requests;
    private readonly SqliteLedgerStore _store;
    private long _runs;

    private DurableSqliteGuard(string path, SqliteLedgerStore store, CountingLedgerStore counting, EntitlementGuard guard, ReservationRequest[] requests)
    {
        Path = path;
        _store = store;
        Counting = counting;
        Guard = guard;
        _requests = requests;
    }

    internal string Path { get; }

    /// <summary>Gets the counters of what the ledger writer appended: batches (group commits) and entries.</summary>
    internal CountingLedgerStore Counting { get; }

    internal EntitlementGuard Guard { get; }

    /// <summary>Starts a guard over a new file and grants each of <paramref name="customers"/> customers 10^12 credits.</summary>
    internal static async Task<DurableSqliteGuard> StartAsync(string purpose, int customers)
    {
        string path = TempLedgerFile.Create(purpose);
        var store = new SqliteLedgerStore(new SqliteLedgerStoreOptions { ConnectionString = "Data Source=" + path });
        var counting = new CountingLedgerStore(store);
        var requests = new ReservationRequest[customers];
        EntitlementGuard? guard = null;
        try
        {
            guard = await EntitlementGuard.StartAsync(new UsageGuardOptions(), counting, TimeProvider.System, NullLogger.Instance);
            for (int i = 0; i < customers; i++)
            {
                string customer = LedgerChain.CustomerId(i);
                await guard.GrantAsync(new CreditGrant { CustomerId = customer, Amount = GuardFactory.GrantCredits });
                requests[i] = new ReservationRequest { CustomerId = customer, Amount = 1m, Durability = Durability.Durable };
            }
        }
        catch
        {
            if (guard is not null)
            {
                await guard.DisposeAsync();
            }

            store.Dispose();
            TempLedgerFile.Delete(path);
            throw;
        }

        return new DurableSqliteGuard(path, store, counting, guard, requests);
    }

    /// <summary>Runs <paramref name="callers"/> concurrent callers (caller <c>i</c> on customer <c>i % customers</c>), each doing <paramref name="settlesPerCaller"/> durable Reserve+Settle pairs one after another.</summary>
    /// <summary>Each caller consumes one credit at a time with a fresh idempotency key: the record travels in the batch.</summary>
    internal Task RunClosedLoopKeyed(int callers, int consumesPerCaller)
    {
        var running = new Task[callers];
        long run = Interlocked.Increment(ref _runs);
        for (int i = 0; i < callers; i++)
        {
            ReservationRequest request = _requests[i % _requests.Length];
            string prefix = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"r{run}-c{i}-");
            running[i] = Task.Run(() => KeyedCallerAsync(request, prefix, consumesPerCaller));
        }

        return Task.WhenAll(running);
    }

    internal Task RunClosedLoop(int callers, int settlesPerCaller)
    {
        var running = new Task[callers];
        for (int i = 0; i < callers; i++)
        {
            ReservationRequest request = _requests[i % _requests.Length];
            running[i] = Task.Run(() => CallerAsync(request, settlesPerCaller));
        }

        return Task.WhenAll(running);
    }

    /// <summary>
    /// Reserves one credit for customer <c>index % customers</c> and settles it in full, durably: completes when the
    /// Settle entry is committed to the SQLite file.
    /// </summary>
    internal async ValueTask ReserveSettleAsync(int index)
    {
        ReservationResult reserved = await Guard.ReserveAsync(_requests[index % _requests.Length]).ConfigureAwait(false);
        if (!reserved.IsAdmitted)
        {
            throw new InvalidOperationException($"UsageGuard denied a benchmark reservation: {reserved.Status} ({reserved.Reason}).");
        }

        await reserved.Reservation.SettleAsync(1m).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await Guard.DisposeAsync();
        _store.Dispose();
        TempLedgerFile.Delete(Path);
    }

    private async Task KeyedCallerAsync(ReservationRequest request, string prefix, int consumes)
    {
        for (int i = 0; i < consumes; i++)
        {
            ConsumeResult consumed = await Guard.ConsumeAsync(request with { IdempotencyKey = prefix + i.ToString(System.Globalization.CultureInfo.InvariantCulture) }).ConfigureAwait(false);
            if (!consumed.IsAdmitted)
            {
                throw new InvalidOperationException($"UsageGuard denied a benchmark consume: {consumed.Status} ({consumed.Reason}).");
            }
        }
    }

    private async Task CallerAsync(ReservationRequest request, int settles)
    {
        for (int i = 0; i < settles; i++)
        {
            ReservationResult reserved = await Guard.ReserveAsync(request).ConfigureAwait(false);
            if (!reserved.IsAdmitted)
            {
                throw new InvalidOperationException($"UsageGuard denied a benchmark reservation: {reserved.Status} ({reserved.Reason}).");
            }

            await reserved.Reservation.SettleAsync(1m).ConfigureAwait(false);
        }
    }
}
