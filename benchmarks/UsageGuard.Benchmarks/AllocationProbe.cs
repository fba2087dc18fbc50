using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace UsageGuard.Benchmarks;

/// <summary>
/// Not a benchmark: <c>dotnet run -c Release --project benchmarks/UsageGuard.Benchmarks -- --allocation-probe</c>.
/// Runs UsageGuard pairs in chunks of one million and reports, per chunk and per pair, what the calling thread
/// allocated and what the whole process allocated (the ledger writer thread included, measured after a flush),
/// then names the allocated types from the runtime's GC allocation-tick events. It explains the Allocated column
/// of the UsageGuard rows, which BenchmarkDotNet measures process-wide over a single iteration.
/// With <c>--allocation-probe governance</c> it measures the pairs of <see cref="GovernanceBenchmarks"/> instead: a
/// customer without budgets, then the governed customer (ten limits and the wallet).
/// </summary>
internal static class AllocationProbe
{
    private const int WarmupPairs = 300_000;
    private const int ChunkPairs = 1_000_000;
    private const int Chunks = 8;

    internal static void Run(bool governance = false)
    {
        Console.WriteLine($"Unsafe.SizeOf<LedgerEntry>() = {Unsafe.SizeOf<LedgerEntry>()} bytes; GC: server={System.Runtime.GCSettings.IsServerGC}, {Environment.ProcessorCount} cores");
        Console.WriteLine();
        if (governance)
        {
            Action<GovernanceOptions> configure = GovernanceBenchmarks.Configure;
            Measure("no budgets, Reserve+Release, InMemoryLedgerStore", store: null, settle: false, GuardFactory.Request, configure);
            Measure("governed, Reserve+Release, InMemoryLedgerStore", store: null, settle: false, GovernanceBenchmarks.GovernedRequest, configure);
            Measure("no budgets, Reserve+Settle, DiscardingLedgerStore", new DiscardingLedgerStore(), settle: true, GuardFactory.Request, configure);
            Measure("governed, Reserve+Settle, DiscardingLedgerStore", new DiscardingLedgerStore(), settle: true, GovernanceBenchmarks.GovernedRequest, configure);
            Measure("governed, Reserve+Settle, InMemoryLedgerStore (the default)", store: null, settle: true, GovernanceBenchmarks.GovernedRequest, configure);
            return;
        }

        Measure("Reserve+Release, InMemoryLedgerStore", store: null, settle: false, GuardFactory.Request);
        Measure("Reserve+Settle, DiscardingLedgerStore", new DiscardingLedgerStore(), settle: true, GuardFactory.Request);
        Measure("Reserve+Settle, InMemoryLedgerStore (the default)", store: null, settle: true, GuardFactory.Request);
    }

    private static void Measure(string name, ILedgerStore? store, bool settle, ReservationRequest request, Action<GovernanceOptions>? governance = null)
    {
        Console.WriteLine($"== {name}: {Chunks} chunks of {ChunkPairs:N0} pairs on one thread");
        var (provider, guard, ledger) = GuardFactory.Start(store, governance);
        using var listener = new AllocationTickListener();
        try
        {
            // Warm up twice, with a pause for tiered compilation to finish in the background.
            RunPairs(guard, request, settle, WarmupPairs);
            Thread.Sleep(500);
            RunPairs(guard, request, settle, WarmupPairs);
            ledger.FlushAsync().AsTask().GetAwaiter().GetResult();

            Console.WriteLine("chunk | ns/pair (incl. flush) | caller thread B/pair | process B/pair | caller thread B");
            long callerTotal = 0;
            long processTotal = 0;
            listener.Reset();
            for (int chunk = 1; chunk <= Chunks; chunk++)
            {
                // The listener's event dispatch allocates on its own thread; that is subtracted.
                long caller0 = GC.GetAllocatedBytesForCurrentThread();
                long process0 = GC.GetTotalAllocatedBytes(precise: true);
                long listener0 = listener.OwnBytes;
                long start = Stopwatch.GetTimestamp();
                RunPairs(guard, request, settle, ChunkPairs);
                long caller1 = GC.GetAllocatedBytesForCurrentThread();
                ledger.FlushAsync().AsTask().GetAwaiter().GetResult();
                TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
                long process1 = GC.GetTotalAllocatedBytes(precise: true);
                long caller = caller1 - caller0;
                long process = process1 - process0 - (listener.OwnBytes - listener0);
                callerTotal += caller;
                processTotal += process;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{chunk,5} | {elapsed.TotalNanoseconds / ChunkPairs,21:F0} | {(double)caller / ChunkPairs,20:F2} | {(double)process / ChunkPairs,14:F2} | {caller,15:N0}"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  all | {"",21} | {(double)callerTotal / (Chunks * ChunkPairs),20:F2} | {(double)processTotal / (Chunks * ChunkPairs),14:F2} | {callerTotal,15:N0}"));
            Console.WriteLine("allocation ticks by type (sampled about every 100 KB; a large-object allocation is always its own tick):");
            foreach ((string type, long bytes, int ticks) in listener.ByType())
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {bytes,16:N0} B in {ticks,5} ticks  {type}{Describe(type)}"));
            }
        }
        finally
        {
            provider.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        Console.WriteLine();
    }

    /// <summary>Allocation ticks name a compiler-generated closure without its declaring type; find it in UsageGuard and list what it captures.</summary>
    private static string Describe(string typeName)
    {
        if (!typeName.StartsWith("<>c__DisplayClass", StringComparison.Ordinal))
        {
            return string.Empty;
        }

        var matches = typeof(ILedgerStore).Assembly.GetTypes()
            .Where(t => t.Name == typeName && t.DeclaringType is not null)
            .Select(t => $"{t.DeclaringType!.FullName}+{t.Name} {{ {string.Join(", ", t.GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic).Select(f => f.FieldType.Name + " " + f.Name))} }}");
        return "  = " + string.Join(" or ", matches);
    }

    private static void RunPairs(IEntitlementGuard guard, in ReservationRequest request, bool settle, int pairs)
    {
        for (int i = 0; i < pairs; i++)
        {
            ValueTask<ReservationResult> reserving = guard.ReserveAsync(request);
            ReservationResult reserved = reserving.IsCompletedSuccessfully ? reserving.Result : reserving.AsTask().GetAwaiter().GetResult();
            if (!reserved.IsAdmitted)
            {
                throw new InvalidOperationException($"Denied: {reserved.Reason}");
            }

            if (settle)
            {
                ValueTask<SettlementResult> settling = reserved.Reservation.SettleAsync(1m);
                if (!settling.IsCompletedSuccessfully)
                {
                    settling.AsTask().GetAwaiter().GetResult();
                }
            }
            else
            {
                ValueTask releasing = reserved.Reservation.ReleaseAsync();
                if (!releasing.IsCompletedSuccessfully)
                {
                    releasing.AsTask().GetAwaiter().GetResult();
                }
            }
        }
    }

    /// <summary>Sums the runtime's GCAllocationTick events by type name.</summary>
    private sealed class AllocationTickListener : EventListener
    {
        private readonly Dictionary<string, (long Bytes, int Ticks)> _byType = new(StringComparer.Ordinal);
        private readonly Lock _gate = new();
        private long _ownBytes;

        /// <summary>Gets the running total of what the event dispatch thread has allocated, to subtract from process totals.</summary>
        internal long OwnBytes => Interlocked.Read(ref _ownBytes);

        internal void Reset()
        {
            lock (_gate)
            {
                _byType.Clear();
            }
        }

        internal List<(string Type, long Bytes, int Ticks)> ByType()
        {
            lock (_gate)
            {
                return _byType.Select(p => (p.Key, p.Value.Bytes, p.Value.Ticks)).OrderByDescending(t => t.Bytes).ToList();
            }
        }

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword: AllocationTick is verbose
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName is { } eventName && eventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) && eventData.Payload is { } payload && eventData.PayloadNames is { } names)
            {
                int typeIndex = names.IndexOf("TypeName");
                int amountIndex = names.IndexOf("AllocationAmount64");
                string type = typeIndex >= 0 ? payload[typeIndex] as string ?? "?" : "?";
                long amount = amountIndex >= 0 ? Convert.ToInt64(payload[amountIndex], CultureInfo.InvariantCulture) : 0;
                lock (_gate)
                {
                    _byType[type] = _byType.TryGetValue(type, out var sum) ? (sum.Bytes + amount, sum.Ticks + 1) : (amount, 1);
                }
            }

            // Runtime events are dispatched on one thread; its running total is what the listener itself allocates.
            Interlocked.Exchange(ref _ownBytes, GC.GetAllocatedBytesForCurrentThread());
        }
    }
}
