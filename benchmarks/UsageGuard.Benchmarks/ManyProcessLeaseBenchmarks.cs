using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Order;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using UsageGuard.PostgreSql;

namespace UsageGuard.Benchmarks;

/// <summary>
/// Reservations per second across 2 and 4 application processes sharing one pool in PostgreSQL: UsageGuard's many-instance mode
/// against the per-request conditional <c>UPDATE</c> on the same hot row, in the same run. Two UsageGuard rows: a consumption
/// (one credit taken from the escrow leases for good, its ledger entry written behind in batches), and the admission alone (a
/// reservation released at once: the lease decision without a ledger entry). The target: at least 100×.
/// </summary>
/// <remarks>
/// One operation is one reservation, whichever process made it: a row's mean is the run's wall time divided by every process's
/// reservations, so the ops/s column is the whole fleet's rate. The processes start in the global set-up (not measured) and wait
/// for the benchmark's word; each has 8 concurrent callers. The Allocated column is the driving process's, not the workers'.
/// </remarks>
[MemoryDiagnoser]
[InProcess]
[WarmupCount(1)]
[IterationCount(5)]
[InvocationCount(1)]
[Orderer(SummaryOrderPolicy.Declared)]
[Config(typeof(OperationsPerSecondConfig))]
public class ManyProcessLeaseBenchmarks
{
    private const int Callers = 8;
    private const int UpdateReservations = 4_000;
    private const int LeaseReservations = 400_000;
    private readonly List<Process> _workers = [];
    private string _connection = null!;
    private string _schema = null!;

    [Params(2, 4)]
    public int Processes { get; set; }

    [GlobalSetup(Target = nameof(PerRequestUpdate))]
    public void SetupUpdate()
    {
        NewSchema();
        using var dataSource = NpgsqlDataSource.Create(_connection);
        var pools = new PoolLeases(dataSource, _schema);
        pools.EnsureSchemaAsync().GetAwaiter().GetResult();
        pools.EnsurePoolAsync(LeaseWorker.HotPool, long.MaxValue / 4).GetAwaiter().GetResult();
        StartWorkers("update");
    }

    [GlobalSetup(Target = nameof(Leases))]
    public void SetupLeases() => SetupGuards("lease");

    [GlobalSetup(Target = nameof(Admissions))]
    public void SetupAdmissions() => SetupGuards("admit");

    private void SetupGuards(string mode)
    {
        NewSchema();
        var services = new ServiceCollection();
        services.AddUsageGuard().UsePostgreSql(o =>
        {
            o.ConnectionString = _connection;
            o.Schema = _schema;
            o.ManyInstances = true;
        });
        using (ServiceProvider provider = services.BuildServiceProvider())
        {
            // Enough for every iteration of the row: the run measures reservations, never an empty wallet.
            provider.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = LeaseWorker.Customer, Amount = 1_000_000_000m }).AsTask().GetAwaiter().GetResult();
        }

        StartWorkers(mode);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (Process worker in _workers)
        {
            worker.StandardInput.WriteLine("quit");
            if (!worker.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                worker.Kill();
            }

            worker.Dispose();
        }

        _workers.Clear();
        using var dataSource = NpgsqlDataSource.Create(_connection);
        using NpgsqlCommand drop = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE;");
        drop.ExecuteNonQuery();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = UpdateReservations, Description = "conditional UPDATE per reservation, 8 callers per process")]
    public void PerRequestUpdate() => RunAll(UpdateReservations);

    [Benchmark(OperationsPerInvoke = LeaseReservations, Description = "UsageGuard ManyInstances consume (escrow leases, ledger entry written behind), 8 callers per process")]
    public void Leases() => RunAll(LeaseReservations);

    [Benchmark(OperationsPerInvoke = LeaseReservations, Description = "UsageGuard ManyInstances reserve + release (the admission alone), 8 callers per process")]
    public void Admissions() => RunAll(LeaseReservations);

    private void NewSchema()
    {
        _connection = Environment.GetEnvironmentVariable("USAGEGUARD_POSTGRES")
            ?? throw new InvalidOperationException("Set USAGEGUARD_POSTGRES to an Npgsql connection string of a PostgreSQL server to run ManyProcessLeaseBenchmarks.");
        _schema = "ug_bench_" + Guid.NewGuid().ToString("N")[..12];
    }

    private void StartWorkers(string mode)
    {
        for (int i = 0; i < Processes; i++)
        {
            _workers.Add(LeaseWorker.Start(mode, _connection, _schema, Callers));
        }

        foreach (Process worker in _workers)
        {
            LeaseWorker.Expect(worker, "ready");
        }
    }

    /// <summary>Splits the reservations over the processes, starts them all, and waits until every one is done.</summary>
    private void RunAll(int reservations)
    {
        for (int i = 0; i < _workers.Count; i++)
        {
            int share = (reservations / _workers.Count) + (i < reservations % _workers.Count ? 1 : 0);
            _workers[i].StandardInput.WriteLine(string.Create(CultureInfo.InvariantCulture, $"run {share}"));
        }

        foreach (Process worker in _workers)
        {
            LeaseWorker.Expect(worker, "done");
        }
    }

    private sealed class OperationsPerSecondConfig : ManualConfig
    {
        public OperationsPerSecondConfig() => AddColumn(StatisticColumn.OperationsPerSecond);
    }
}
