using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using UsageGuard.PostgreSql;

namespace UsageGuard.Benchmarks;

/// <summary>
/// One worker process of <see cref="ManyProcessLeaseBenchmarks"/>: an application instance that reserves from one pool shared with
/// the other workers, on several concurrent callers, when the benchmark tells it to. Not a benchmark itself.
/// </summary>
/// <remarks>
/// Protocol on stdin/stdout, one line each: the worker prints <c>ready</c> once it can serve; <c>run N</c> makes it do N
/// reservations (spread over its callers) and print <c>done</c> (or <c>failed …</c>); <c>quit</c> ends it.
/// </remarks>
internal static class LeaseWorker
{
    internal const string Customer = "bench";
    internal const string HotPool = "hot";

    /// <summary>Starts a worker process of this assembly.</summary>
    internal static Process Start(string mode, string connectionString, string schema, int callers)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(LeaseWorker).Assembly.Location);
        start.ArgumentList.Add("--lease-worker");
        start.ArgumentList.Add(mode);
        start.ArgumentList.Add(connectionString);
        start.ArgumentList.Add(schema);
        start.ArgumentList.Add(callers.ToString(CultureInfo.InvariantCulture));
        return Process.Start(start) ?? throw new InvalidOperationException("The worker process did not start.");
    }

    /// <summary>Waits for the worker's next line and checks it.</summary>
    internal static void Expect(Process worker, string line)
    {
        string? got = worker.StandardOutput.ReadLine();
        if (got != line)
        {
            throw new InvalidOperationException($"A lease worker answered '{got ?? "(exited)"}' instead of '{line}'.");
        }
    }

    /// <summary>The worker's entry point: <c>--lease-worker lease|admit|update connection schema callers</c>.</summary>
    internal static void Run(string mode, string connectionString, string schema, int callers)
    {
        using var dataSource = NpgsqlDataSource.Create(connectionString);
        var pools = new PoolLeases(dataSource, schema);
        ServiceProvider? services = null;
        IEntitlementGuard? guard = null;
        if (mode is "lease" or "admit")
        {
            var collection = new ServiceCollection();
            collection.AddUsageGuard(o => o.ReservationSweepInterval = TimeSpan.Zero).UsePostgreSql(o =>
            {
                o.DataSource = dataSource;
                o.Schema = schema;
                o.ManyInstances = true;
            });
            services = collection.BuildServiceProvider();
            guard = services.GetRequiredService<IEntitlementGuard>();
            var ledger = services.GetRequiredService<ICreditLedger>();
            while (Balance(ledger) <= 0)
            {
                Thread.Sleep(20);
            }
        }

        Console.WriteLine("ready");
        while (Console.ReadLine() is { } command && command != "quit")
        {
            int count = int.Parse(command.AsSpan("run ".Length), CultureInfo.InvariantCulture);
            try
            {
                Task[] tasks = [.. Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
                {
                    int share = (count / callers) + (c < count % callers ? 1 : 0);
                    for (int i = 0; i < share; i++)
                    {
                        bool admitted = mode switch
                        {
                            "lease" => (await guard!.ConsumeAsync(new ReservationRequest { CustomerId = Customer, Amount = 1m, Durability = Durability.WriteBehind }).ConfigureAwait(false)).IsAdmitted,
                            "admit" => await ReserveAndReleaseAsync(guard!).ConfigureAwait(false),
                            _ => await pools.SpendDirectAsync(HotPool, 1).ConfigureAwait(false),
                        };
                        if (!admitted)
                        {
                            throw new InvalidOperationException("A reservation was refused: the pool is too small for the run.");
                        }
                    }
                }))];
                Task.WaitAll(tasks);
                Console.WriteLine("done");
            }
            catch (AggregateException ex)
            {
                Console.WriteLine("failed " + ex.InnerException?.Message);
            }
        }

        services?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private static async ValueTask<bool> ReserveAndReleaseAsync(IEntitlementGuard guard)
    {
        ReservationResult reserved = await guard.ReserveAsync(new ReservationRequest { CustomerId = Customer, Amount = 1m }).ConfigureAwait(false);
        if (reserved.IsAdmitted)
        {
            await reserved.Reservation.ReleaseAsync().ConfigureAwait(false);
        }

        return reserved.IsAdmitted;
    }

    private static decimal Balance(ICreditLedger ledger)
    {
        try
        {
            return ledger.GetBalance(Customer).Balance.ToDecimal();
        }
        catch (UnknownCustomerException)
        {
            return 0;
        }
    }
}
