using System.Text.Json;
using BenchmarkDotNet.Attributes;
using UsageGuard.Sqlite;

namespace UsageGuard.Benchmarks;

/// <summary>
/// Export throughput: 1,000,000 usage events read from a SQLite ledger (<see cref="MeteringLedgerFile"/>) and written to a file.
/// One operation is one event (<c>OperationsPerInvoke</c>), so <c>Op/s</c> is events per second. The baseline only reads the events, from
/// whole entries as any <see cref="ILedgerStore"/> gives them; the narrow read is what the built-in stores give the export instead.
/// The peer writes each event with <see cref="JsonSerializer"/>'s reflection serializer and a <see cref="StreamWriter"/>, as a first
/// exporter would.
/// </summary>
[MemoryDiagnoser]
[WarmupCount(1)]
[IterationCount(5)]
[InvocationCount(1)]
public class ExportBenchmarks
{
    private const int Events = 1_000_000;
    private static readonly JsonSerializerOptions s_reflection = new() { TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver() };
    private SqliteLedgerReader _reader = null!;
    private string _output = null!;
    private string _cursors = null!;
    private UsageAuditFilter _all = null!;

    [GlobalSetup]
    public void Setup()
    {
        _reader = SqliteLedgerReader.Open(MeteringLedgerFile.Ensure(Events));
        _output = Path.Combine(TempLedgerFile.Directory, $"export-{Environment.ProcessId}.out");
        _cursors = Path.Combine(TempLedgerFile.Directory, $"export-cursors-{Environment.ProcessId}");
        _all = new UsageAuditFilter { From = DateTimeOffset.MinValue, To = DateTimeOffset.MaxValue };
    }

    [IterationSetup]
    public void Fresh()
    {
        File.Delete(_output);
        if (Directory.Exists(_cursors))
        {
            Directory.Delete(_cursors, recursive: true);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Fresh();
        _reader.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Events, Description = "baseline: read the events from every entry (ILedgerStore.ReadAsync), write nothing")]
    public long ReadOnly()
    {
        long consumed = 0;
        IAsyncEnumerator<UsageEvent> events = UsageEvents.FromEntries(_reader.ReadAsync(0)).GetAsyncEnumerator();
        while (events.MoveNextAsync().AsTask().GetAwaiter().GetResult())
        {
            consumed += events.Current.Consumed.Units;
        }

        return Check(consumed > 0 ? Events : 0);
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "UsageGuard: read the events (narrow settlement read), write nothing")]
    public long ReadNarrow()
    {
        long consumed = 0;
        IAsyncEnumerator<UsageEvent> events = UsageEvents.ReadAsync(_reader).GetAsyncEnumerator();
        while (events.MoveNextAsync().AsTask().GetAwaiter().GetResult())
        {
            consumed += events.Current.Consumed.Units;
        }

        return Check(consumed > 0 ? Events : 0);
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "peer: JsonSerializer (reflection) + StreamWriter, one line per event")]
    public long NaiveJsonLines()
    {
        long count = 0;
        using (var writer = new StreamWriter(_output))
        {
            IAsyncEnumerator<UsageEvent> events = UsageEvents.ReadAsync(_reader).GetAsyncEnumerator();
            while (events.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                writer.WriteLine(JsonSerializer.Serialize(events.Current, s_reflection));
                count++;
            }
        }

        return Check(count);
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "UsageGuard: audit export, JSON Lines file")]
    public long AuditJsonLines()
    {
        using var file = new FileStream(_output, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        return Check(UsageAuditExport.WriteJsonLinesAsync(_reader, file, _all).GetAwaiter().GetResult());
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "UsageGuard: audit export, CSV file")]
    public long AuditCsv()
    {
        using var file = new FileStream(_output, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        return Check(UsageAuditExport.WriteCsvAsync(_reader, file, _all).GetAwaiter().GetResult());
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "UsageGuard: billing export to JsonLinesFileExporter (cursor + fsync per 5,000)")]
    public long BillingJsonLines()
    {
        using var sink = new JsonLinesFileExporter(_output);
        var export = new UsageExport(_reader, sink, new UsageExportOptions { CursorDirectory = _cursors, BatchSize = 5_000 });
        return Check(export.ExportPendingAsync().GetAwaiter().GetResult());
    }

    private static long Check(long count) =>
        count == Events ? count : throw new InvalidOperationException($"Exported {count} events, expected {Events}.");
}
