using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.RateLimiting;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Order;
using Microsoft.Extensions.DependencyInjection;

namespace UsageGuard.Benchmarks;

/// <summary>
/// One operation = one "pair": take an amount from a balance and give it back (or, for UsageGuard, reserve and then
/// settle or release), so the balance never runs out. Every row measures the same pair against a different
/// mechanism, first on one thread, then on two threads sharing one balance. See benchmarks/README.md.
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[Orderer(SummaryOrderPolicy.Declared)]
[Config(typeof(PairsPerSecondConfig))]
public class PairBenchmarks
{
    /// <summary>Pairs per invocation of a two-thread benchmark, split evenly between the threads.</summary>
    public const int PairsPerInvoke = 1_000_000;

    private const string OneThread = "1 thread";
    private const string TwoThreads = "2 threads";
    private const long Amount = 1;
    private const long StartingBalance = 1_000_000_000_000;

    private readonly StrongBox<PaddedBalance> _cas = new();
    private readonly ConcurrentDictionary<string, StrongBox<long>> _balances = new(StringComparer.Ordinal);
    private readonly LockedWallet _locked = new(StartingBalance);
    private TokenBucketRateLimiter _bucket = null!;
    private ConcurrencyLimiter _concurrency = null!;
    private ServiceProvider _retainingProvider = null!;
    private ServiceProvider _discardingProvider = null!;
    private IEntitlementGuard _guard = null!;
    private IEntitlementGuard _discardingGuard = null!;
    private DiscardingLedgerStore _discardingStore = null!;
    private TwoThreadRunner _runner = null!;
    private Action<int> _casLoop = null!;
    private Action<int> _dictionaryCasLoop = null!;
    private Action<int> _lockedLoop = null!;
    private Action<int> _bucketLoop = null!;
    private Action<int> _concurrencyLoop = null!;
    private Action<int> _guardSettleLoop = null!;
    private Action<int> _discardingSettleLoop = null!;
    private Action<int> _guardReleaseLoop = null!;
    private readonly PairDriver _pairs = new();
    private long _refills;

    [GlobalSetup]
    public void Setup()
    {
        _cas.Value.Value = StartingBalance;
        for (int i = 0; i < 1_000; i++)
        {
            _balances[$"customer-{i}"] = new StrongBox<long>(StartingBalance);
        }

        _balances[GuardFactory.Customer] = new StrongBox<long>(StartingBalance);

        // Never denies: the bucket starts full at int.MaxValue tokens and nothing replenishes it on a timer.
        // A run takes far fewer than 2^31 tokens; should one ever run dry, the pair refills it with TryReplenish
        // (TokensPerPeriod = the whole limit) and retries, and the cleanup reports how often that happened.
        _bucket = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = int.MaxValue,
            TokensPerPeriod = int.MaxValue,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            AutoReplenishment = false,
            QueueLimit = 0,
        });

        // Never denies either: far more permits than threads, and every pair gives its permit back.
        _concurrency = new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = 1_000, QueueLimit = 0 });

        (_retainingProvider, _guard, _) = GuardFactory.Start(store: null);
        _discardingStore = new DiscardingLedgerStore();
        (_discardingProvider, _discardingGuard, _) = GuardFactory.Start(_discardingStore);

        _casLoop = n =>
        {
            for (int i = 0; i < n; i++)
            {
                CasPair();
            }
        };
        _dictionaryCasLoop = n =>
        {
            for (int i = 0; i < n; i++)
            {
                DictionaryCasPair();
            }
        };
        _lockedLoop = n =>
        {
            for (int i = 0; i < n; i++)
            {
                LockedPair();
            }
        };
        _bucketLoop = n =>
        {
            for (int i = 0; i < n; i++)
            {
                TokenBucketPair();
            }
        };
        _concurrencyLoop = n =>
        {
            for (int i = 0; i < n; i++)
            {
                ConcurrencyPair();
            }
        };
        _guardSettleLoop = n =>
        {
            for (int i = 0; i < n; i++)
            {
                _pairs.ReserveSettle(_guard, GuardFactory.Request);
            }
        };
        _discardingSettleLoop = n =>
        {
            for (int i = 0; i < n; i++)
            {
                _pairs.ReserveSettle(_discardingGuard, GuardFactory.Request);
            }
        };
        _guardReleaseLoop = n =>
        {
            for (int i = 0; i < n; i++)
            {
                _pairs.ReserveRelease(_guard, GuardFactory.Request);
            }
        };
        _runner = new TwoThreadRunner();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _runner.Dispose();
        _bucket.Dispose();
        _concurrency.Dispose();
        _retainingProvider.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _discardingProvider.DisposeAsync().AsTask().GetAwaiter().GetResult();

        // Sanity: every pair gave back what it took, and nothing waited on the writer.
        Console.WriteLine($"// cleanup: CAS balance {_cas.Value.Value} (expected {StartingBalance}), dictionary balance {_balances[GuardFactory.Customer].Value}, locked balance {_locked.Balance}");
        Console.WriteLine($"// cleanup: UsageGuard calls that did not complete synchronously: {_pairs.SlowPaths}; token bucket refills: {Interlocked.Read(ref _refills)}; entries dropped by the discarding store: {_discardingStore.Entries}");
    }

    // ---------------------------------------------------------------- one thread

    [Benchmark(Baseline = true, Description = "CAS")]
    [BenchmarkCategory(OneThread)]
    public void Cas() => CasPair();

    [Benchmark(Description = "ConcurrentDictionary + CAS")]
    [BenchmarkCategory(OneThread)]
    public void DictionaryCas() => DictionaryCasPair();

    [Benchmark(Description = "lock wallet")]
    [BenchmarkCategory(OneThread)]
    public void Locked() => LockedPair();

    [Benchmark(Description = "TokenBucketRateLimiter")]
    [BenchmarkCategory(OneThread)]
    public void TokenBucket() => TokenBucketPair();

    [Benchmark(Description = "ConcurrencyLimiter")]
    [BenchmarkCategory(OneThread)]
    public void Concurrency() => ConcurrencyPair();

    [Benchmark(Description = "UsageGuard Reserve+Settle")]
    [BenchmarkCategory(OneThread)]
    public void GuardReserveSettle() => _pairs.ReserveSettle(_guard, GuardFactory.Request);

    [Benchmark(Description = "UsageGuard Reserve+Settle, DiscardingLedgerStore")]
    [BenchmarkCategory(OneThread)]
    public void GuardReserveSettleDiscarding() => _pairs.ReserveSettle(_discardingGuard, GuardFactory.Request);

    [Benchmark(Description = "UsageGuard Reserve+Release")]
    [BenchmarkCategory(OneThread)]
    public void GuardReserveRelease() => _pairs.ReserveRelease(_guard, GuardFactory.Request);

    // ---------------------------------------------------------------- two threads, one shared balance

    [Benchmark(Baseline = true, OperationsPerInvoke = PairsPerInvoke, Description = "CAS ×2")]
    [BenchmarkCategory(TwoThreads)]
    public void Cas2() => _runner.Run(_casLoop, PairsPerInvoke / 2);

    [Benchmark(OperationsPerInvoke = PairsPerInvoke, Description = "ConcurrentDictionary + CAS ×2")]
    [BenchmarkCategory(TwoThreads)]
    public void DictionaryCas2() => _runner.Run(_dictionaryCasLoop, PairsPerInvoke / 2);

    [Benchmark(OperationsPerInvoke = PairsPerInvoke, Description = "lock wallet ×2")]
    [BenchmarkCategory(TwoThreads)]
    public void Locked2() => _runner.Run(_lockedLoop, PairsPerInvoke / 2);

    [Benchmark(OperationsPerInvoke = PairsPerInvoke, Description = "TokenBucketRateLimiter ×2")]
    [BenchmarkCategory(TwoThreads)]
    public void TokenBucket2() => _runner.Run(_bucketLoop, PairsPerInvoke / 2);

    [Benchmark(OperationsPerInvoke = PairsPerInvoke, Description = "ConcurrencyLimiter ×2")]
    [BenchmarkCategory(TwoThreads)]
    public void Concurrency2() => _runner.Run(_concurrencyLoop, PairsPerInvoke / 2);

    [Benchmark(OperationsPerInvoke = PairsPerInvoke, Description = "UsageGuard Reserve+Settle ×2")]
    [BenchmarkCategory(TwoThreads)]
    public void GuardReserveSettle2() => _runner.Run(_guardSettleLoop, PairsPerInvoke / 2);

    [Benchmark(OperationsPerInvoke = PairsPerInvoke, Description = "UsageGuard Reserve+Settle, DiscardingLedgerStore ×2")]
    [BenchmarkCategory(TwoThreads)]
    public void GuardReserveSettleDiscarding2() => _runner.Run(_discardingSettleLoop, PairsPerInvoke / 2);

    [Benchmark(OperationsPerInvoke = PairsPerInvoke, Description = "UsageGuard Reserve+Release ×2")]
    [BenchmarkCategory(TwoThreads)]
    public void GuardReserveRelease2() => _runner.Run(_guardReleaseLoop, PairsPerInvoke / 2);

    // ---------------------------------------------------------------- the pairs

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CasPair()
    {
        ref long balance = ref _cas.Value.Value;
        if (!CasBalance.TryDebit(ref balance, Amount))
        {
            throw new InvalidOperationException("The CAS balance ran out.");
        }

        CasBalance.Credit(ref balance, Amount);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void DictionaryCasPair()
    {
        ref long balance = ref _balances[GuardFactory.Customer].Value;
        if (!CasBalance.TryDebit(ref balance, Amount))
        {
            throw new InvalidOperationException("The dictionary balance ran out.");
        }

        CasBalance.Credit(ref balance, Amount);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void LockedPair()
    {
        if (!_locked.TryDebit(Amount))
        {
            throw new InvalidOperationException("The locked wallet ran out.");
        }

        _locked.Credit(Amount);
    }

    /// <summary>Acquire one token and dispose the lease. A token bucket has no "give back": disposing a lease returns nothing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void TokenBucketPair()
    {
        RateLimitLease lease = _bucket.AttemptAcquire(1);
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            lease = RefillAndAcquire();
        }

        lease.Dispose();
    }

    /// <summary>Acquire one permit and dispose the lease, which gives the permit back: the closest peer to a reservation and its release.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ConcurrencyPair()
    {
        using RateLimitLease lease = _concurrency.AttemptAcquire(1);
        if (!lease.IsAcquired)
        {
            throw new InvalidOperationException("The concurrency limiter denied with a permit free.");
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private RateLimitLease RefillAndAcquire()
    {
        Interlocked.Increment(ref _refills);
        _bucket.TryReplenish();
        RateLimitLease lease = _bucket.AttemptAcquire(1);
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            throw new InvalidOperationException("The token bucket denied after a refill.");
        }

        return lease;
    }
}
