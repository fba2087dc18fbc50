using System.Globalization;
using BenchmarkDotNet.Running;

namespace UsageGuard.Benchmarks;

/// <summary>Entry point: <c>dotnet run -c Release -- --filter '*' --job short</c>; see benchmarks/README.md.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args is ["--headline", ..])
        {
            // The headline ratios against peers: CI's short job with its regression guard, or the full run of docs/benchmarks.md (see Headline).
            return Headline.Run(args);
        }

        if (args is ["--allocation-probe"] or ["--allocation-probe", "governance"])
        {
            // Not a benchmark: explains where the UsageGuard rows' allocations come from (see AllocationProbe);
            // "governance" measures the pairs of GovernanceBenchmarks.
            AllocationProbe.Run(governance: args.Length == 2);
            return 0;
        }

        if (args is ["--latency-probe", ..] && args.Length <= 2)
        {
            // Not a benchmark: durable acknowledgement latency at half the peak load on SQLite (see LatencyProbe).
            LatencyProbe.Run(args.Length == 2 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_024);
            return 0;
        }

        if (args is ["--store-probe"])
        {
            // Not a benchmark: what one appended entry costs the SQLite store, by number of customers (see StoreProbe).
            StoreProbe.Run();
            return 0;
        }

        if (args is ["--lease-worker", string mode, string connection, string schema, string callers])
        {
            // Not a benchmark: one application process of ManyProcessLeaseBenchmarks, started by it.
            LeaseWorker.Run(mode, connection, schema, int.Parse(callers, CultureInfo.InvariantCulture));
            return 0;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
