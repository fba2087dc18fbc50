using System.Diagnostics;
using System.Globalization;

namespace UsageGuard.Benchmarks;

/// <summary>
/// Not a benchmark: <c>dotnet run -c Release --project benchmarks/UsageGuard.Benchmarks -- --latency-probe [customers]</c>
/// (about 25 s; customers 1,024 unless given, e.g. 1).
/// Measures durable acknowledgement latency on SQLite at half the peak load:
/// <list type="number">
/// <item>Starts a guard over a new SQLite file (<see cref="DurableSqliteGuard"/>: default options, WAL, <c>synchronous=FULL</c>) with that many customers.</item>
/// <item>Warm-up, then peak: 1,024 callers (caller <c>c</c> on customer <c>c % customers</c>) each reserve and settle durably, back to back, for 3 s
/// and then 5 s; the peak is the settlements completed in the 5 s divided by its length.</item>
/// <item>Paced: for 10 s, a dedicated thread starts Reserve+Settle number <c>i</c> (customer <c>i % customers</c>) at
/// <c>start + i / rate</c>, with rate = half the peak, without waiting for earlier ones (open loop). It sleeps 1 ms
/// whenever nothing is due, so requests leave in ~1 ms bursts. Each latency is measured from the request's
/// <em>scheduled</em> instant to the durable acknowledgement (the settle's completion), so a pacer or process that falls
/// behind shows in the numbers instead of hiding (no coordinated omission).</item>
/// </list>
/// Prints the peak, the achieved paced rate, the group commits' sizes, and p50/p90/p99/p99.9/max latency.
/// </summary>
internal static class LatencyProbe
{
    private const int Callers = 1_024;
    private static readonly TimeSpan WarmupTime = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan PeakTime = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PacedTime = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Target = TimeSpan.FromMilliseconds(20);

    internal static void Run(int customers = Callers) => RunAsync(customers).GetAwaiter().GetResult();

    private static async Task RunAsync(int customers)
    {
        Console.WriteLine($"durable settle latency on SQLite, {customers:N0} customer{(customers == 1 ? "" : "s")}; {Environment.ProcessorCount} cores, GC server={System.Runtime.GCSettings.IsServerGC}");
        DurableSqliteGuard engine = await DurableSqliteGuard.StartAsync("latency-probe", customers);
        try
        {
            await ClosedLoopAsync(engine, WarmupTime);
            long batches = engine.Counting.Batches;
            long entries = engine.Counting.Entries;
            (long settled, TimeSpan elapsed) = await ClosedLoopAsync(engine, PeakTime);
            double peak = settled / elapsed.TotalSeconds;
            Print($"peak: {Callers:N0} callers back to back for {elapsed.TotalSeconds:N1} s: {settled:N0} durable settlements, {peak:N0}/s; {CommitStats(engine, batches, entries)}");

            double rate = peak / 2;
            batches = engine.Counting.Batches;
            entries = engine.Counting.Entries;
            engine.Counting.RecordAppendTimes(1 << 20);
            TimeSpan pause = GC.GetTotalPauseDuration();
            int gen0 = GC.CollectionCount(0);
            int gen1 = GC.CollectionCount(1);
            int gen2 = GC.CollectionCount(2);
            long allocated = GC.GetTotalAllocatedBytes(precise: false);
            Paced run = RunPaced(engine, rate, PacedTime);
            double[] appends = engine.Counting.StopRecording();
            pause = GC.GetTotalPauseDuration() - pause;
            allocated = GC.GetTotalAllocatedBytes(precise: false) - allocated;
            string gc = string.Create(CultureInfo.InvariantCulture, $"GC while paced: {GC.CollectionCount(0) - gen0} gen0, {GC.CollectionCount(1) - gen1} gen1, {GC.CollectionCount(2) - gen2} gen2 collections, {pause.TotalMilliseconds:N0} ms paused in all, {allocated / 1e6:N0} MB allocated ({(double)allocated / run.Count:N0} B a settlement)");
            Print($"paced: {run.Count:N0} settlements scheduled at {rate:N0}/s over {PacedTime.TotalSeconds:N0} s; all acknowledged after {run.Elapsed.TotalSeconds:N2} s ({run.Count / run.Elapsed.TotalSeconds:N0}/s); pacer at most {Ms(run.MaxLag)} late; {CommitStats(engine, batches, entries)}");
            Print($"latency from scheduled start to durable acknowledgement: {Percentiles(run.Latencies)}");
            Print($"latency from the call to durable acknowledgement:       {Percentiles(run.Service)}");
            Print($"the writer's SqliteLedgerStore.AppendAsync calls (one transaction each): {AppendStats(appends)}");
            Print(gc);
            double p99 = Percentile(run.Latencies, 0.99);
            Print($"target p99 <= {Target.TotalMilliseconds:N0} ms at half the peak: {(p99 <= Target.TotalMilliseconds ? "met" : "missed")} ({p99:N2} ms)");
        }
        finally
        {
            await engine.DisposeAsync();
        }
    }

    private static async Task<(long Settled, TimeSpan Elapsed)> ClosedLoopAsync(DurableSqliteGuard engine, TimeSpan duration)
    {
        long settled = 0;
        var stop = new StopFlag();
        long start = Stopwatch.GetTimestamp();
        var callers = new Task[Callers];
        for (int i = 0; i < Callers; i++)
        {
            int customer = i;
            callers[i] = Task.Run(async () =>
            {
                long mine = 0;
                while (!stop.IsSet)
                {
                    await engine.ReserveSettleAsync(customer);
                    mine++;
                }

                Interlocked.Add(ref settled, mine);
            });
        }

        await Task.Delay(duration);
        stop.Set();
        await Task.WhenAll(callers);
        return (settled, Stopwatch.GetElapsedTime(start));
    }

    private static Paced RunPaced(DurableSqliteGuard engine, double rate, TimeSpan duration)
    {
        int count = (int)(rate * duration.TotalSeconds);
        var latencies = new long[count];
        var service = new long[count];
        using var done = new CountdownEvent(count);
        Exception? failure = null;
        double interval = Stopwatch.Frequency / rate;
        long maxLag = 0;
        long start = 0;
        var pacer = new Thread(() =>
        {
            start = Stopwatch.GetTimestamp();
            for (int i = 0; i < count; i++)
            {
                long scheduled = start + (long)(i * interval);
                while (Stopwatch.GetTimestamp() < scheduled)
                {
                    Thread.Sleep(1);
                }

                maxLag = Math.Max(maxLag, Stopwatch.GetTimestamp() - scheduled);
                _ = TrackAsync(i, scheduled);
            }
        })
        { IsBackground = true, Name = "latency-probe pacer" };
        pacer.Start();
        pacer.Join();
        done.Wait();
        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        if (failure is not null)
        {
            throw new InvalidOperationException("A paced settlement failed.", failure);
        }

        return new Paced(count, elapsed, maxLag, latencies, service);

        async Task TrackAsync(int i, long scheduled)
        {
            long called = Stopwatch.GetTimestamp();
            try
            {
                await engine.ReserveSettleAsync(i);
            }
            catch (Exception ex)
            {
                Interlocked.CompareExchange(ref failure, ex, null);
            }

            long acknowledged = Stopwatch.GetTimestamp();
            latencies[i] = acknowledged - scheduled;
            service[i] = acknowledged - called;
            done.Signal();
        }
    }

    private static string CommitStats(DurableSqliteGuard engine, long batches0, long entries0)
    {
        long batches = engine.Counting.Batches - batches0;
        long entries = engine.Counting.Entries - entries0;
        return string.Create(CultureInfo.InvariantCulture, $"{batches:N0} group commits, {(double)entries / Math.Max(1, batches):N1} entries each on average");
    }

    private static string AppendStats(double[] ms)
    {
        if (ms.Length == 0)
        {
            return "none recorded";
        }

        double busy = ms.Sum();
        int slow = ms.Count(t => t >= 5);
        double slowTime = ms.Where(t => t >= 5).Sum();
        Array.Sort(ms);
        return string.Create(CultureInfo.InvariantCulture, $"{ms.Length:N0}, busy {busy / 1000:N2} s of {PacedTime.TotalSeconds:N0} s; p50 {ms[ms.Length / 2]:N2} ms, p99 {ms[(int)Math.Ceiling(0.99 * ms.Length) - 1]:N2} ms, max {ms[^1]:N2} ms; {slow:N0} took 5 ms or more ({slowTime / 1000:N2} s in all)");
    }

    private static string Percentiles(long[] ticks)
    {
        Array.Sort(ticks);
        return string.Create(CultureInfo.InvariantCulture, $"p50 {Percentile(ticks, 0.50):N2} ms, p90 {Percentile(ticks, 0.90):N2} ms, p99 {Percentile(ticks, 0.99):N2} ms, p99.9 {Percentile(ticks, 0.999):N2} ms, max {Ms(ticks[^1])}");
    }

    /// <summary>The nearest-rank percentile of sorted ticks, in milliseconds.</summary>
    private static double Percentile(long[] sortedTicks, double quantile)
    {
        int rank = (int)Math.Ceiling(quantile * sortedTicks.Length) - 1;
        return sortedTicks[Math.Clamp(rank, 0, sortedTicks.Length - 1)] * 1000.0 / Stopwatch.Frequency;
    }

    private static string Ms(long ticks) => string.Create(CultureInfo.InvariantCulture, $"{ticks * 1000.0 / Stopwatch.Frequency:N2} ms");

    private static void Print(string line) => Console.WriteLine(line);

    private sealed record Paced(int Count, TimeSpan Elapsed, long MaxLag, long[] Latencies, long[] Service);

    private sealed class StopFlag
    {
        private volatile bool _set;

        internal bool IsSet => _set;

        internal void Set() => _set = true;
    }
}
