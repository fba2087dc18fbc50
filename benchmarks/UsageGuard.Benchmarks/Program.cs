using BenchmarkDotNet.Running;

namespace UsageGuard.Benchmarks;

/// <summary>Entry point: <c>dotnet run -c Release -- --filter '*' --job short</c>; see benchmarks/README.md.</summary>
public static class Program
{
    public static void Main(string[] args)
    {
        if (args is ["--allocation-probe"])
        {
            // Not a benchmark: explains where the UsageGuard rows' allocations come from (see AllocationProbe).
            AllocationProbe.Run();
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
