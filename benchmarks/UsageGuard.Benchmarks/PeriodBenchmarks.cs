using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Order;

namespace UsageGuard.Benchmarks;

/// <summary>
/// <see cref="PeriodCalendar.Containing"/> for each window length, in UTC and in daylight-saving zones with an anchor on
/// the 31st, and the proration helpers, against what a naive month start does: <see cref="TimeZoneInfo.ConvertTime(DateTimeOffset, TimeZoneInfo)"/>
/// and <c>new DateTime(year, month, 1)</c>. One operation is one call. See benchmarks/README.md.
/// </summary>
/// <remarks>Needs the IANA zone database (on Linux, the tzdata package).</remarks>
[MemoryDiagnoser]
[Orderer(SummaryOrderPolicy.Declared)]
[Config(typeof(CallsPerSecondConfig))]
public class PeriodBenchmarks
{
    private TimeZoneInfo _newYork = null!;
    private PeriodCalendar _utc = null!;
    private PeriodCalendar _newYorkCalendar = null!;
    private PeriodCalendar _berlin = null!;
    private PeriodCalendar _havana = null!;
    private DateTimeOffset _summer;
    private DateTimeOffset _afterSpringForward;
    private DateTimeOffset _skippedMidnightDay;
    private UsagePeriod _billingMonth;
    private long _monthlyUnits;

    [GlobalSetup]
    public void Setup()
    {
        _newYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

        // Subscriptions that started on 31 January 2025, local time: the month windows start on the 31st, clamped to
        // the month's last day.
        _utc = new PeriodCalendar(TimeZoneInfo.Utc, new DateTimeOffset(2025, 1, 31, 9, 0, 0, TimeSpan.Zero));
        _newYorkCalendar = new PeriodCalendar(_newYork, new DateTimeOffset(2025, 1, 31, 9, 0, 0, TimeSpan.FromHours(-5)));
        _berlin = PeriodCalendar.FromTimeZoneId("Europe/Berlin", new DateTimeOffset(2025, 1, 31, 9, 0, 0, TimeSpan.FromHours(1)));
        _havana = PeriodCalendar.FromTimeZoneId("America/Havana", new DateTimeOffset(2025, 1, 31, 9, 0, 0, TimeSpan.FromHours(-5)));

        // Mid-July: no offset change in any window that holds it.
        _summer = new DateTimeOffset(2026, 7, 15, 16, 34, 56, TimeSpan.Zero);

        // 15 March 2026: New York's month [28 Feb, 31 Mar) holds the 8 March spring-forward, so its start lies under
        // another offset than the instant.
        _afterSpringForward = new DateTimeOffset(2026, 3, 15, 16, 34, 56, TimeSpan.Zero);

        // Havana springs forward at midnight: 8 March 2026 starts at 01:00, and its midnight is in the gap.
        _skippedMidnightDay = new DateTimeOffset(2026, 3, 8, 16, 34, 56, TimeSpan.Zero);

        _billingMonth = _newYorkCalendar.Containing(_summer, UsageWindow.Month);
        _monthlyUnits = 20_000_000;

        if (_billingMonth.Start != new DateTimeOffset(2026, 6, 30, 0, 0, 0, TimeSpan.FromHours(-4))
            || _newYorkCalendar.Containing(_afterSpringForward, UsageWindow.Month).Start != new DateTimeOffset(2026, 2, 28, 0, 0, 0, TimeSpan.FromHours(-5))
            || _havana.Containing(_skippedMidnightDay, UsageWindow.Day).Start != new DateTimeOffset(2026, 3, 8, 1, 0, 0, TimeSpan.FromHours(-4)))
        {
            throw new InvalidOperationException("The benchmark calendars do not produce the windows the rows say.");
        }
    }

    [Benchmark(Baseline = true, Description = "Baseline: ConvertTime + new DateTime(y, m, 1), New York")]
    public UsagePeriod NaiveMonth()
    {
        // What a first attempt does: no anchor day, no gap or overlap rule, an offset looked up for each bound.
        DateTimeOffset local = TimeZoneInfo.ConvertTime(_summer, _newYork);
        var start = new DateTime(local.Year, local.Month, 1);
        DateTime end = start.AddMonths(1);
        return new UsagePeriod(new DateTimeOffset(start, _newYork.GetUtcOffset(start)), new DateTimeOffset(end, _newYork.GetUtcOffset(end)));
    }

    [Benchmark(Description = "Containing Month, UTC")]
    public UsagePeriod MonthUtc() => _utc.Containing(_summer, UsageWindow.Month);

    [Benchmark(Description = "Containing Month, New York")]
    public UsagePeriod MonthNewYork() => _newYorkCalendar.Containing(_summer, UsageWindow.Month);

    [Benchmark(Description = "Containing Month, Berlin")]
    public UsagePeriod MonthBerlin() => _berlin.Containing(_summer, UsageWindow.Month);

    [Benchmark(Description = "Containing Month, New York, month holds a DST change")]
    public UsagePeriod MonthNewYorkAcrossDst() => _newYorkCalendar.Containing(_afterSpringForward, UsageWindow.Month);

    [Benchmark(Description = "Containing Week, New York")]
    public UsagePeriod WeekNewYork() => _newYorkCalendar.Containing(_summer, UsageWindow.Week);

    [Benchmark(Description = "Containing Day, New York")]
    public UsagePeriod DayNewYork() => _newYorkCalendar.Containing(_summer, UsageWindow.Day);

    [Benchmark(Description = "Containing Day, Havana, midnight skipped")]
    public UsagePeriod DayHavanaSkippedMidnight() => _havana.Containing(_skippedMidnightDay, UsageWindow.Day);

    [Benchmark(Description = "Containing Hour, New York")]
    public UsagePeriod HourNewYork() => _newYorkCalendar.Containing(_summer, UsageWindow.Hour);

    [Benchmark(Description = "PeriodCalendar.Remaining")]
    public (long Numerator, long Denominator) Remaining() => PeriodCalendar.Remaining(_billingMonth, _summer);

    [Benchmark(Description = "PeriodCalendar.Prorate")]
    public long Prorate() => PeriodCalendar.Prorate(_monthlyUnits, _billingMonth, _summer);

    /// <summary>Adds an operations-per-second column: here, calls per second.</summary>
    private sealed class CallsPerSecondConfig : ManualConfig
    {
        public CallsPerSecondConfig() => AddColumn(StatisticColumn.OperationsPerSecond);
    }
}
