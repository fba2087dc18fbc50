using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Order;

namespace UsageGuard.Benchmarks;

/// <summary>
/// The steps a governed reservation of <see cref="GovernanceBenchmarks"/> goes through, each alone, on the engine's internal
/// types: where the time <see cref="GovernanceBenchmarks"/> measures between a governed and an ungoverned pair goes. One
/// operation is one step for the whole request (all ten limits where the step is per limit). See benchmarks/README.md, "Governance".
/// </summary>
[MemoryDiagnoser]
[Orderer(SummaryOrderPolicy.Declared)]
public class GovernancePartsBenchmarks
{
    private const int Limits = GovernanceBenchmarks.GovernedLimits;
    private static readonly long IdleTicks = TimeSpan.FromDays(1).Ticks;

    private readonly ReservationRequest _request = GovernanceBenchmarks.GovernedRequest;
    private readonly OneReference[] _lean = new OneReference[16];
    private CustomerGovernance _governance = null!;
    private GovernancePolicy _policy = null!;
    private CompiledLimit[] _limits = null!;
    private SessionState _session = null!;
    private LimitState[] _states = null!;
    private MeterWindow[] _windows = null!;
    private ReservationState _reservation = null!;
    private long _now;
    private int _leanCount;

    [GlobalSetup]
    public void Setup()
    {
        var options = new GovernanceOptions();
        GovernanceBenchmarks.Configure(options);
        _governance = new CustomerGovernance(GovernanceBenchmarks.GovernedCustomer);
        var errors = new List<string>();
        var types = new Dictionary<string, (int Index, int Scale)>(StringComparer.Ordinal) { [UsageGuardDefaults.CreditType] = (0, 6) };
        _policy = GovernanceCompiler.Compile(options.Customers[0], types, UsageGuardDefaults.CreditType, _governance.StateFor, errors)
            ?? throw new InvalidOperationException(string.Join(Environment.NewLine, errors));
        _governance.Publish(_policy);
        _limits = _policy.LimitsFor(GovernanceBenchmarks.Subject);
        if (_limits.Length != Limits)
        {
            throw new InvalidOperationException($"Expected {Limits} limits for the subject, found {_limits.Length}.");
        }

        _now = DateTimeOffset.UtcNow.UtcTicks;
        _session = _governance.Session(GovernanceBenchmarks.Session, _now, IdleTicks);
        _states = [.. _limits.Select(l => l.Shared ?? _session.StateFor(l))];
        _windows = [.. _limits.Select((l, i) => _states[i].WindowAt(_now, _policy.Calendar, l.Window))];

        // Only the limit holds are used here; the guard is never reached.
        _reservation = new ReservationState(null!);
    }

    [Benchmark(Description = "LimitsFor(\"org/dept/team/agent\")")]
    public int LimitsFor() => _policy.LimitsFor(GovernanceBenchmarks.Subject).Length;

    [Benchmark(Description = "Session(\"session-1\"): find the session, touch it")]
    public object FindSession() => _governance.Session(GovernanceBenchmarks.Session, _now, IdleTicks);

    [Benchmark(Description = "SessionState.StateFor × 2 (the per-session limits' counters, by state key)")]
    public object SessionCounters()
    {
        _session.StateFor(_limits[8]);
        return _session.StateFor(_limits[9]);
    }

    [Benchmark(Description = "CompiledLimit.Matches × 10")]
    public int Matches()
    {
        int matched = 0;
        for (int i = 0; i < _limits.Length; i++)
        {
            if (_limits[i].Matches(_request, 0))
            {
                matched++;
            }
        }

        return matched;
    }

    [Benchmark(Description = "LimitState.WindowAt × 10")]
    public object WindowAt()
    {
        object last = null!;
        for (int i = 0; i < _limits.Length; i++)
        {
            last = _states[i].WindowAt(_now, _policy.Calendar, _limits[i].Window);
        }

        return last;
    }

    [Benchmark(Description = "MeterWindow.TryHold + Release × 10 (4 interlocked operations each)")]
    public void HoldRelease()
    {
        for (int i = 0; i < _windows.Length; i++)
        {
            _windows[i].TryHold(1, long.MaxValue / 4, long.MaxValue / 4, out _);
            _windows[i].Release(1);
        }
    }

    [Benchmark(Description = "MeterWindow.TryHold + Settle(all) × 10 (3 interlocked operations each)")]
    public void HoldSettle()
    {
        for (int i = 0; i < _windows.Length; i++)
        {
            _windows[i].TryHold(1, long.MaxValue / 4, long.MaxValue / 4, out _);
            _windows[i].Settle(1, 1);
        }
    }

    [Benchmark(Description = "ReservationState.AddLimitHold × 10 + ClearLimitHolds")]
    public int RecordHolds()
    {
        for (int i = 0; i < _limits.Length; i++)
        {
            _reservation.AddLimitHold(_limits[i], _states[i], _windows[i], 1, 0, 0);
        }

        int count = _reservation.LimitHoldCount;
        _reservation.ClearLimitHolds();
        return count;
    }

    [Benchmark(Description = "What if: the same 10 records with one reference (the window) instead of three")]
    public int RecordLeanHolds()
    {
        for (int i = 0; i < _windows.Length; i++)
        {
            _lean[_leanCount++] = new OneReference(_windows[i], 1, 0, 0);
        }

        int count = _leanCount;
        Array.Clear(_lean, 0, _leanCount);
        _leanCount = 0;
        return count;
    }

    [Benchmark(Description = "For scale: DateTimeOffset.UtcNow")]
    public long UtcNow() => DateTimeOffset.UtcNow.UtcTicks;

    private readonly record struct OneReference(MeterWindow Window, long Units, long SlotTaken, long SlotPrevious);
}
