using System.Globalization;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Environments;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace UsageGuard.Benchmarks;

/// <summary>
/// The headline ratios: UsageGuard's median time per operation over a peer's, measured in the same run, so a faster or slower machine
/// moves both sides. Lower is better; below 1 UsageGuard is faster than the peer. See docs/benchmarks.md.
/// </summary>
/// <remarks>
/// <para><c>--headline --quick</c> is CI's short job: in-process, few iterations, a few minutes in all. It prints one line per ratio
/// (<c>ratio reserve+settle / TokenBucketRateLimiter: 117</c>) and, with <c>--check FILE</c>, fails (exit code 1) when a ratio is more
/// than 25% above its committed baseline; a ratio over the line is measured up to twice more before it counts (the best
/// measurement counts), since a noisy run should not fail a build.</para>
/// <para><c>--runs N</c> measures N times and prints the medians; <c>--write-baseline FILE</c> records, per ratio, the highest of
/// the runs: on a 2-core VM the runs of a sound build differ (the SQLite peers wait on fsync, whose time varies by a third
/// between runs), and the guard is for code that got slower, not for a disk that was fast that minute. <c>--only TEXT</c>
/// measures the ratios whose name holds TEXT (a baseline written then keeps the file's other ratios).</para>
/// <para><c>--headline --markdown FILE</c> is the full run (BenchmarkDotNet's default job, a process per benchmark) that
/// docs/benchmarks.md holds: the machine, the ratios, and each class's table from the GitHub markdown exporter.</para>
/// </remarks>
internal static class Headline
{
    /// <summary>How much worse than its baseline a ratio may get before CI fails: 25%.</summary>
    internal const double Tolerance = 1.25;

    /// <summary>How many more times a ratio over the line is measured before it fails the guard.</summary>
    internal const int Remeasurements = 2;

    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>One headline ratio: <see cref="Numerator"/>'s mean time per operation over <see cref="Denominator"/>'s, both benchmarks of <see cref="Type"/>.</summary>
    internal sealed record Ratio(string Name, Type Type, string Numerator, string Denominator, string Why);

    // Reserve+settle is measured with DiscardingLedgerStore: the engine's whole cost (the hold, the settlement, the ledger entry
    // sequenced and SHA-256-chained by the writer) without the in-memory store's retention of every entry, whose list doublings
    // and garbage make the retaining rows too noisy for a 25% guard (the durable stores have ratios of their own below).
    internal static readonly Ratio[] Ratios =
    [
        new("reserve+settle / Interlocked", typeof(PairBenchmarks), nameof(PairBenchmarks.GuardReserveSettleDiscarding), nameof(PairBenchmarks.Cas),
            "the physical limit: a bare compare-and-swap debit and an atomic add back, one thread"),
        new("reserve+settle / lock wallet", typeof(PairBenchmarks), nameof(PairBenchmarks.GuardReserveSettleDiscarding), nameof(PairBenchmarks.Locked),
            "a balance behind a lock, one thread"),
        new("reserve+settle / TokenBucketRateLimiter", typeof(PairBenchmarks), nameof(PairBenchmarks.GuardReserveSettleDiscarding), nameof(PairBenchmarks.TokenBucket),
            "System.Threading.RateLimiting's token bucket (acquire one token), one thread"),
        new("reserve+release / ConcurrencyLimiter", typeof(PairBenchmarks), nameof(PairBenchmarks.GuardReserveRelease), nameof(PairBenchmarks.Concurrency),
            "System.Threading.RateLimiting's concurrency limiter (acquire a permit, give it back), one thread"),
        new("reserve+settle x2 / lock wallet x2", typeof(PairBenchmarks), nameof(PairBenchmarks.GuardReserveSettleDiscarding2), nameof(PairBenchmarks.Locked2),
            "the lock wallet, two threads on one balance"),
        new("reserve+release x2 / ConcurrencyLimiter x2", typeof(PairBenchmarks), nameof(PairBenchmarks.GuardReserveRelease2), nameof(PairBenchmarks.Concurrency2),
            "the concurrency limiter, two threads on one limiter"),
        new("durable reserve+settle (SQLite, group commit) / read-then-UPDATE per request", typeof(SqliteSettlementBenchmarks), nameof(SqliteSettlementBenchmarks.GroupCommit64Callers), nameof(SqliteSettlementBenchmarks.ReadThenUpdatePerRequest),
            "what most teams start with on SQLite: read the balance, then UPDATE it, each statement committed on its own (and it oversells under concurrency)"),
        new("durable reserve+settle (SQLite, group commit) / one transaction per settlement", typeof(SqliteSettlementBenchmarks), nameof(SqliteSettlementBenchmarks.GroupCommit64Callers), nameof(SqliteSettlementBenchmarks.OneTransactionPerSettlement),
            "one SQLite transaction per settlement: read, UPDATE, INSERT a ledger row, COMMIT"),
        new("lease spend (PostgreSQL) / conditional UPDATE per request", typeof(PoolLeaseBenchmarks), nameof(PoolLeaseBenchmarks.FromLease), nameof(PoolLeaseBenchmarks.PerRequestUpdate),
            "a conditional UPDATE of the pool row per reservation: a round trip and a commit each"),
    ];

    /// <summary>Runs the headline benchmarks; returns the process exit code.</summary>
    internal static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        string? check = Option(args, "--check");
        string? writeBaseline = Option(args, "--write-baseline");
        string? markdown = Option(args, "--markdown");
        string? only = Option(args, "--only");
        int runs = Option(args, "--runs") is { } n ? int.Parse(n, CultureInfo.InvariantCulture) : 1;
        bool postgres = Environment.GetEnvironmentVariable("USAGEGUARD_POSTGRES") is { Length: > 0 };
        Ratio[] ratios = [.. Ratios.Where(r => (postgres || r.Type != typeof(PoolLeaseBenchmarks)) && (only is null || r.Name.Contains(only, StringComparison.OrdinalIgnoreCase)))];
        if (!postgres)
        {
            Console.WriteLine("// headline: USAGEGUARD_POSTGRES is not set; the PostgreSQL ratio is not measured.");
        }

        if (ratios.Length == 0 || runs < 1)
        {
            Console.WriteLine($"// headline: nothing to measure (--only '{only}', --runs {runs}).");
            return 2;
        }

        // With --runs N the ratios are measured N times: each run's are printed, the ratio lines give the median, and a
        // baseline written records the highest (the least flattering a sound build measured).
        IConfig config = quick ? QuickConfig() : FullConfig();
        Summary[] summaries = [];
        var all = new List<Dictionary<string, double>>();
        for (int run = 0; run < runs; run++)
        {
            summaries = Measure(ratios, config);
            all.Add(Compute(ratios, summaries));
            if (runs > 1)
            {
                Console.WriteLine($"// headline: run {run + 1} of {runs}: {string.Join("; ", all[^1].Select(p => $"{p.Key} {Format(p.Value)}"))}");
            }
        }

        Dictionary<string, double> measured = Combine(all, values => values[values.Length / 2]);

        Dictionary<string, double>? baseline = check is null ? null : ReadBaseline(check);
        if (baseline is not null)
        {
            // A ratio over the line is measured again, on its own, up to twice, before it counts; the best measurement counts.
            // A noisy run should not fail a build; a real regression is over the line every time.
            for (int again = 1; again <= Remeasurements; again++)
            {
                Ratio[] over = [.. ratios.Where(r => Over(r, measured, baseline))];
                if (over.Length == 0)
                {
                    break;
                }

                Console.WriteLine($"// headline: {over.Length} ratio(s) over the line; measuring them again ({again} of {Remeasurements}): {string.Join(", ", over.Select(r => r.Name))}");
                foreach ((string name, double value) in Compute(over, Measure(over, config)))
                {
                    Console.WriteLine($"// headline: {name}: {Format(value)} measured again");
                    measured[name] = measured.TryGetValue(name, out double first) ? Math.Min(first, value) : value;
                }
            }
        }

        foreach (Ratio ratio in ratios)
        {
            Console.WriteLine(measured.TryGetValue(ratio.Name, out double value)
                ? $"ratio {ratio.Name}: {Format(value)}"
                : $"ratio {ratio.Name}: not measured");
        }

        if (writeBaseline is not null)
        {
            // Merged into the file's other ratios, so that renewing one (--only) keeps the rest.
            Dictionary<string, double> highest = File.Exists(writeBaseline) ? ReadBaseline(writeBaseline) : new(StringComparer.Ordinal);
            foreach ((string name, double value) in Combine(all, values => values[^1]))
            {
                highest[name] = value;
            }

            File.WriteAllText(writeBaseline, JsonSerializer.Serialize(highest.OrderBy(p => Array.FindIndex(Ratios, r => r.Name == p.Key)).ToDictionary(p => p.Key, p => Math.Round(p.Value, 6)), s_indented) + "\n");
            Console.WriteLine($"// headline: baseline written to {writeBaseline}");
        }

        if (markdown is not null)
        {
            WriteMarkdown(markdown, ratios, summaries, measured);
            Console.WriteLine($"// headline: results written to {markdown}");
        }

        return baseline is null ? 0 : Guard(ratios, measured, baseline);
    }

    private static int Guard(Ratio[] ratios, Dictionary<string, double> measured, Dictionary<string, double> baseline)
    {
        int failed = 0;
        foreach (Ratio ratio in ratios)
        {
            if (!baseline.TryGetValue(ratio.Name, out double expected))
            {
                Console.WriteLine($"guard: {ratio.Name}: no baseline; record one with --write-baseline");
                failed++;
            }
            else if (!measured.TryGetValue(ratio.Name, out double value))
            {
                Console.WriteLine($"guard: {ratio.Name}: not measured (its benchmarks failed)");
                failed++;
            }
            else if (value > expected * Tolerance)
            {
                Console.WriteLine($"guard: {ratio.Name}: {Format(value)} is {((value / expected) - 1) * 100:N0}% worse than the baseline {Format(expected)} (limit +25%)");
                failed++;
            }
        }

        Console.WriteLine(failed == 0
            ? $"guard: every headline ratio is within 25% of its baseline ({ratios.Length} ratios)"
            : $"guard: {failed} headline ratio(s) regressed by more than 25% or were not measured");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>One value per ratio from several runs' values, sorted (a ratio missing from a run is left out of it).</summary>
    private static Dictionary<string, double> Combine(List<Dictionary<string, double>> runs, Func<double[], double> pick) =>
        runs.SelectMany(r => r).GroupBy(p => p.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => pick([.. g.Select(p => p.Value).Order()]), StringComparer.Ordinal);

    private static bool Over(Ratio ratio, Dictionary<string, double> measured, Dictionary<string, double> baseline) =>
        !measured.TryGetValue(ratio.Name, out double value) || (baseline.TryGetValue(ratio.Name, out double expected) && value > expected * Tolerance);

    /// <summary>Runs the benchmarks the ratios name, each class once with just those methods.</summary>
    private static Summary[] Measure(Ratio[] ratios, IConfig config)
    {
        var runs = new List<BenchmarkRunInfo>();
        foreach (IGrouping<Type, Ratio> group in ratios.GroupBy(r => r.Type))
        {
            var methods = group.SelectMany(r => new[] { r.Numerator, r.Denominator }).ToHashSet(StringComparer.Ordinal);
            BenchmarkRunInfo all = BenchmarkConverter.TypeToBenchmarks(group.Key, config);
            BenchmarkCase[] cases = [.. all.BenchmarksCases.Where(c => methods.Contains(c.Descriptor.WorkloadMethod.Name))];
            runs.Add(new BenchmarkRunInfo(cases, group.Key, all.Config));
        }

        return BenchmarkRunner.Run([.. runs]);
    }

    private static Dictionary<string, double> Compute(Ratio[] ratios, Summary[] summaries)
    {
        var means = new Dictionary<(Type, string), double>();
        foreach (BenchmarkReport report in summaries.SelectMany(s => s.Reports))
        {
            if (report.Success && report.ResultStatistics is { } statistics)
            {
                means[(report.BenchmarkCase.Descriptor.Type, report.BenchmarkCase.Descriptor.WorkloadMethod.Name)] = statistics.Median;
            }
        }

        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (Ratio ratio in ratios)
        {
            if (means.TryGetValue((ratio.Type, ratio.Numerator), out double numerator) && means.TryGetValue((ratio.Type, ratio.Denominator), out double denominator) && denominator > 0)
            {
                result[ratio.Name] = numerator / denominator;
            }
        }

        return result;
    }

    /// <summary>CI's short job: in the benchmark process (no build per benchmark), 3 warm-ups and 10 iterations of about 500 ms.</summary>
    private static ManualConfig QuickConfig() => DefaultConfig.Instance
        .AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(10)
            .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(500))
            .WithId("CI"))
        .WithOptions(ConfigOptions.DisableLogFile);

    /// <summary>BenchmarkDotNet's default job and exporters (the GitHub markdown one among them).</summary>
    private static IConfig FullConfig() => DefaultConfig.Instance;

    private static Dictionary<string, double> ReadBaseline(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The headline baseline '{path}' does not exist; record one with --write-baseline.", path);
        }

        return JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(path))
            ?? throw new InvalidDataException($"The headline baseline '{path}' is empty.");
    }

    private static void WriteMarkdown(string path, Ratio[] ratios, Summary[] summaries, Dictionary<string, double> measured)
    {
        var text = new StringBuilder();
        text.AppendLine("# Benchmarks");
        text.AppendLine();
        text.AppendLine("The headline benchmarks, a full BenchmarkDotNet run (its default job: a process per benchmark, as many iterations as the");
        text.AppendLine("statistics ask), written by `dotnet run -c Release --project benchmarks/UsageGuard.Benchmarks -- --headline --markdown docs/benchmarks.md`.");
        text.AppendLine("The short job (`--headline --quick --check benchmarks/headline-baseline.json`) fails when a ratio is more than 25% above its");
        text.AppendLine("baseline. benchmarks/README.md explains every benchmark class and holds the runs of the others.");
        text.AppendLine();
        text.AppendLine("## The machine");
        text.AppendLine();
        HostEnvironmentInfo host = summaries[0].HostEnvironmentInfo;
        text.AppendLine(CultureInfo.InvariantCulture, $"- {host.OsVersion.Value}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- {host.CpuInfo.Value.ProcessorName}, {host.CpuInfo.Value.PhysicalCoreCount} physical / {host.CpuInfo.Value.LogicalCoreCount} logical cores (a 2-core cloud VM; 24 GiB)");
        text.AppendLine(CultureInfo.InvariantCulture, $"- .NET SDK {host.DotNetSdkVersion.Value}, runtime {host.RuntimeVersion}, BenchmarkDotNet {host.BenchmarkDotNetVersion}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- run on {DateTime.UtcNow:yyyy-MM-dd}");
        text.AppendLine();
        text.AppendLine("## Headline ratios");
        text.AppendLine();
        text.AppendLine("UsageGuard's median time per operation over the peer's, in the same run (the medians are in the two middle columns). Lower is better; below 1, UsageGuard is faster.");
        text.AppendLine();
        text.AppendLine("| Ratio | Value | UsageGuard | Peer | The peer |");
        text.AppendLine("| --- | ---: | ---: | ---: | --- |");
        foreach (Ratio ratio in ratios)
        {
            string Mean(string method) => summaries.SelectMany(s => s.Reports)
                .Where(r => r.BenchmarkCase.Descriptor.Type == ratio.Type && r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method && r.ResultStatistics is not null)
                .Select(r => Nanoseconds(r.ResultStatistics!.Median)).FirstOrDefault() ?? "n/a";
            text.AppendLine(CultureInfo.InvariantCulture, $"| {ratio.Name} | {(measured.TryGetValue(ratio.Name, out double v) ? Format(v) : "n/a")} | {Mean(ratio.Numerator)} | {Mean(ratio.Denominator)} | {ratio.Why} |");
        }

        foreach (Summary summary in summaries)
        {
            // The GitHub markdown exporter (in BenchmarkDotNet's default configuration) names a class's report after the class.
            Type type = summary.BenchmarksCases[0].Descriptor.Type;
            string report = Path.Combine(summary.ResultsDirectoryPath, $"{type.FullName}-report-github.md");
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"## {type.Name}");
            text.AppendLine();
            text.AppendLine(File.Exists(report) ? File.ReadAllText(report).Trim() : throw new FileNotFoundException($"BenchmarkDotNet wrote no GitHub markdown report for {type.Name}.", report));
        }

        File.WriteAllText(path, text.ToString());
    }

    private static string Nanoseconds(double ns) => ns switch
    {
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{ns / 1_000_000:N3} ms"),
        >= 1_000 => string.Create(CultureInfo.InvariantCulture, $"{ns / 1_000:N3} μs"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{ns:N2} ns"),
    };

    /// <summary>Three significant digits: 0.41, 3.27, 0.000102.</summary>
    internal static string Format(double value) => value.ToString(value >= 100 ? "F0" : "G3", CultureInfo.InvariantCulture);

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
