using BenchmarkDotNet.Attributes;
using Npgsql;
using UsageGuard.PostgreSql;

namespace UsageGuard.Benchmarks;

/// <summary>
/// One reservation of one unit from a pool kept in PostgreSQL, one thread: a conditional <c>UPDATE</c> per reservation (one round trip and
/// a synchronous commit each) against spending from a lease held locally (an interlocked decrement), refilled by one conditional
/// <c>UPDATE</c> every <see cref="Slice"/> units. The server is <c>USAGEGUARD_POSTGRES</c>; a fresh schema per run.
/// </summary>
[MemoryDiagnoser]
public class PoolLeaseBenchmarks
{
    private const long Slice = 10_000;
    private const string Pool = "wallet:bench";
    private NpgsqlDataSource _source = null!;
    private PoolLeases _pools = null!;
    private string _schema = null!;
    private PoolLeases.Lease? _lease;
    private long _left;

    [GlobalSetup]
    public void Setup()
    {
        string connection = Environment.GetEnvironmentVariable("USAGEGUARD_POSTGRES")
            ?? throw new InvalidOperationException("Set USAGEGUARD_POSTGRES to an Npgsql connection string of a PostgreSQL server to run PoolLeaseBenchmarks.");
        _schema = "ug_bench_" + Guid.NewGuid().ToString("N")[..12];
        _source = NpgsqlDataSource.Create(connection);
        _pools = new PoolLeases(_source, _schema);
        _pools.EnsureSchemaAsync().GetAwaiter().GetResult();
        _pools.EnsurePoolAsync(Pool, long.MaxValue / 4).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        using (NpgsqlCommand drop = _source.CreateCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE;"))
        {
            drop.ExecuteNonQuery();
        }

        _source.Dispose();
    }

    [Benchmark(Baseline = true, Description = "conditional UPDATE per reservation")]
    public Task<bool> PerRequestUpdate() => _pools.SpendDirectAsync(Pool, 1);

    [Benchmark(Description = "spend from a local lease, refilled per 10,000 units")]
    public async ValueTask<bool> FromLease()
    {
        if (Interlocked.Decrement(ref _left) >= 0)
        {
            return true;
        }

        if (_lease is not null)
        {
            await _pools.ReturnAsync(_lease, _lease.Amount).ConfigureAwait(false);
        }

        _lease = await _pools.TakeAsync(Pool, "bench", Slice, DateTimeOffset.UtcNow.AddMinutes(5)).ConfigureAwait(false)
            ?? throw new InvalidOperationException("The pool ran dry.");
        Volatile.Write(ref _left, Slice - 1);
        return true;
    }
}
