using System.Collections.Concurrent;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests.Metering;

/// <summary>The billing export: the ledger as outbox, a cursor per sink, at-least-once delivery with back-off, and the JSON Lines sink.</summary>
[TestFixture]
public sealed class UsageExportTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("ug-export-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private UsageExportOptions Options(int batchSize = 10) => new() { CursorDirectory = Path.Combine(_dir, "cursors"), BatchSize = batchSize };

    private static async Task<GuardHarness> WithSettlements(int count)
    {
        GuardHarness h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 1_000m);
        await h.GrantAsync("globex", 1_000m);
        for (int i = 0; i < count; i++)
        {
            ConsumeResult r = await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = i % 3 == 0 ? "globex" : "acme", Amount = 0.5m + (i % 4), Feature = "chat", RequestId = $"req-{i}" });
            r.IsAdmitted.Should().BeTrue();
        }

        await h.Ledger.FlushAsync();
        return h;
    }

    private static async Task<List<UsageEvent>> AllEvents(ILedgerStore store) => await UsageEvents.ReadAsync(store).ToListAsync();

    /// <summary>A sink that keeps what it was given, deduplicates by id, and can be told to take part of a batch and then fail.</summary>
    private sealed class DedupSink(string name = "dedup") : IUsageExporter
    {
        public ConcurrentDictionary<string, UsageEvent> Kept { get; } = new();

        public List<string> Received { get; } = [];

        public int FailAfter { get; set; } = -1;

        public int Failures { get; set; }

        public string Name => name;

        public ValueTask ExportAsync(IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
        {
            for (int i = 0; i < events.Count; i++)
            {
                if (i == FailAfter)
                {
                    FailAfter = -1;
                    Failures++;
                    throw new IOException("the sink went away mid-batch");
                }

                Received.Add(events[i].Id);
                Kept.TryAdd(events[i].Id, events[i]);
            }

            return ValueTask.CompletedTask;
        }
    }

    [Test]
    public async Task ExportPending_DeliversEveryEventOnce_InLedgerOrder_AndTheCursorSurvivesANewExport()
    {
        await using GuardHarness h = await WithSettlements(25);
        var sink = new DedupSink();
        var export = new UsageExport(h.Store, sink, Options(batchSize: 10));

        (await export.ExportPendingAsync(Bounded())).Should().Be(25);
        List<UsageEvent> events = await AllEvents(h.Store);
        sink.Received.Should().Equal(events.Select(e => e.Id));
        export.Position.Should().Be(events[^1].Sequence);

        (await new UsageExport(h.Store, sink, Options()).ExportPendingAsync(Bounded())).Should().Be(0, "a new export starts from the cursor file");
        await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m });
        await h.Ledger.FlushAsync();
        (await new UsageExport(h.Store, sink, Options()).ExportPendingAsync(Bounded())).Should().Be(1);
        sink.Received.Should().OnlyHaveUniqueItems().And.HaveCount(26);
    }

    [TestCase(0)]
    [TestCase(3)]
    [TestCase(9)]
    public async Task ASinkThatCrashesMidBatch_ResumesFromTheCursor_NothingLost_NothingDuplicatedAtADedupingSink(int failAfter)
    {
        await using GuardHarness h = await WithSettlements(30);
        var sink = new DedupSink { FailAfter = failAfter };

        // A crash: the export dies with the batch in flight, before it could move the cursor.
        using (var cts = new CancellationTokenSource())
        {
            var crashingSink = new CrashOnFailure(sink, cts);
            var export = new UsageExport(h.Store, crashingSink, Options(batchSize: 10));
            Func<Task> run = () => export.ExportPendingAsync(cts.Token);
            await run.Should().ThrowAsync<OperationCanceledException>();
        }

        sink.Failures.Should().Be(1);
        (await new UsageExport(h.Store, sink, Options(batchSize: 10)).ExportPendingAsync(Bounded())).Should().Be(30);

        List<UsageEvent> events = await AllEvents(h.Store);
        sink.Kept.Keys.Should().BeEquivalentTo(events.Select(e => e.Id), "nothing lost, and the dedup sink holds each once");
        sink.Received.Count.Should().Be(30 + failAfter, "only the part of the batch in flight was sent twice");
    }

    /// <summary>Stands for a process that dies when its sink fails: cancels the export at the first failure.</summary>
    private sealed class CrashOnFailure(DedupSink inner, CancellationTokenSource crash) : IUsageExporter
    {
        public string Name => inner.Name;

        public async ValueTask ExportAsync(IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
        {
            try
            {
                await inner.ExportAsync(events, cancellationToken);
            }
            catch (IOException)
            {
                await crash.CancelAsync();
                throw;
            }
        }
    }

    [Test]
    public async Task ARefusedBatch_IsSentAgainWithDoublingBackOff_UntilTheSinkTakesIt()
    {
        await using GuardHarness h = await WithSettlements(5);
        var time = new WatchedTime(new ManualTimeProvider(DateTimeOffset.UnixEpoch));
        var sink = new FlakySink(failures: 3);
        var export = new UsageExport(h.Store, sink, Options(), time);

        Task<long> running = export.ExportPendingAsync(Bounded());
        var waits = new List<TimeSpan>();
        foreach (TimeSpan step in new[] { 200, 400, 800 }.Select(ms => TimeSpan.FromMilliseconds(ms)))
        {
            // The refusal, and the back-off's timer: the clock moves only once the export waits on it (the retry may run on another thread).
            await WaitUntil(() => sink.Calls == waits.Count + 1 && time.Timers == waits.Count + 1);
            time.Advance(step - TimeSpan.FromMilliseconds(1));
            await Task.Delay(20);
            sink.Calls.Should().Be(waits.Count + 1, $"the retry waits the whole {step}");
            time.Advance(TimeSpan.FromMilliseconds(1));
            waits.Add(step);
        }

        (await running).Should().Be(5);
        sink.Calls.Should().Be(4);
        sink.Batches.Should().AllSatisfy(b => b.Should().Equal(sink.Batches[0]), "the same batch, the same ids, each time");
    }

    /// <summary>A manual clock that counts the timers created on it: a back-off is waiting once its timer exists.</summary>
    private sealed class WatchedTime(ManualTimeProvider inner) : TimeProvider
    {
        private int _timers;

        public int Timers => Volatile.Read(ref _timers);

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            ITimer timer = inner.CreateTimer(callback, state, dueTime, period);
            Interlocked.Increment(ref _timers);
            return timer;
        }

        public void Advance(TimeSpan by) => inner.Advance(by);
    }

    private sealed class FlakySink(int failures) : IUsageExporter
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public List<string[]> Batches { get; } = [];

        public string Name => "flaky";

        public ValueTask ExportAsync(IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
        {
            Batches.Add([.. events.Select(e => e.Id)]);
            return Interlocked.Increment(ref _calls) <= failures ? throw new HttpRequestException("503") : ValueTask.CompletedTask;
        }
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        condition().Should().BeTrue();
    }

    [Test]
    public async Task JsonLinesFile_RoundTripsEveryField_AndATornLastLineIsDroppedAndSentAgain()
    {
        await using GuardHarness h = await WithSettlements(12);
        string file = Path.Combine(_dir, "usage.jsonl");
        using (var sink = new JsonLinesFileExporter(file))
        {
            (await new UsageExport(h.Store, sink, Options(batchSize: 5)).ExportPendingAsync(Bounded())).Should().Be(12);
        }

        List<UsageEvent> events = await AllEvents(h.Store);
        string[] lines = File.ReadAllLines(file);
        lines.Should().HaveCount(12);
        for (int i = 0; i < lines.Length; i++)
        {
            using JsonDocument doc = JsonDocument.Parse(lines[i]);
            JsonElement root = doc.RootElement;
            UsageEvent e = events[i];
            root.GetProperty("id").GetString().Should().Be(e.Id);
            root.GetProperty("sequence").GetInt64().Should().Be(e.Sequence);
            root.GetProperty("customerId").GetString().Should().Be(e.CustomerId);
            root.GetProperty("requestId").GetString().Should().Be(e.RequestId);
            root.GetProperty("feature").GetString().Should().Be("chat");
            root.GetProperty("timestamp").GetDateTimeOffset().Should().Be(e.Timestamp);
            root.GetProperty("consumed").GetDecimal().Should().Be(e.Consumed.ToDecimal());
            root.GetProperty("blocks").EnumerateArray().Sum(b => b.GetProperty("amount").GetDecimal()).Should().Be(e.Charged.ToDecimal());
            root.TryGetProperty("tokens", out _).Should().BeFalse("absent values are omitted");
        }

        // A crash while writing the next batch: half a line, no newline, and the cursor never moved past it.
        await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 2m });
        await h.Ledger.FlushAsync();
        File.AppendAllText(file, lines[0][..(lines[0].Length / 2)]);
        using (var sink = new JsonLinesFileExporter(file))
        {
            (await new UsageExport(h.Store, sink, Options()).ExportPendingAsync(Bounded())).Should().Be(1);
        }

        string[] after = File.ReadAllLines(file);
        after.Should().HaveCount(13, "the torn line was cut off before appending");
        after.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()).Should().Equal((await AllEvents(h.Store)).Select(e => e.Id));
    }

    [Test]
    public void Options_OutOfRange_AreRefusedWithTheirName()
    {
        var store = new InMemoryLedgerStore();
        var sink = new DedupSink();
        FluentActions.Invoking(() => new UsageExport(store, sink, new UsageExportOptions())).Should().Throw<ArgumentException>().WithMessage("*CursorDirectory*");
        FluentActions.Invoking(() => new UsageExport(store, sink, Options(batchSize: 0))).Should().Throw<ArgumentException>().WithMessage("*BatchSize*");
        FluentActions.Invoking(() => new UsageExport(store, new DedupSink("../x"), Options())).Should().Throw<ArgumentException>().WithMessage("*sink name*");
        File.WriteAllText(Path.Combine(Directory.CreateDirectory(Path.Combine(_dir, "cursors")).FullName, "dedup.cursor"), "twelve");
        FluentActions.Invoking(() => new UsageExport(store, sink, Options())).Should().Throw<UsageGuardException>().WithMessage("*dedup.cursor*does not hold a sequence number*");
    }

    [Test]
    public async Task AddUsageExport_RunsWithTheHost_AndDeliversWhatIsSettledWhileItRuns()
    {
        var sink = new DedupSink("hosted");
        var services = new ServiceCollection();
        services.AddUsageGuard(o => o.CreditTypes.Add(new CreditTypeOptions { Code = "credits", Scale = 2 }))
            .AddUsageExport(_ => sink, o =>
            {
                o.CursorDirectory = Path.Combine(_dir, "hosted");
                o.PollInterval = TimeSpan.FromMilliseconds(20);
            });
        await using ServiceProvider provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().ToList();
        foreach (IHostedService service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        var ledger = provider.GetRequiredService<ICreditLedger>();
        var guard = provider.GetRequiredService<IEntitlementGuard>();
        await ledger.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 10m });
        for (int i = 0; i < 3; i++)
        {
            (await guard.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m })).IsAdmitted.Should().BeTrue();
        }

        await ledger.FlushAsync();
        await WaitUntil(() => sink.Kept.Count == 3);
        foreach (IHostedService service in Enumerable.Reverse(hosted))
        {
            await service.StopAsync(CancellationToken.None);
        }

        sink.Received.Should().HaveCount(3);
        File.ReadAllText(Path.Combine(_dir, "hosted", "hosted.cursor")).Should().Be(sink.Kept.Values.Max(e => e.Sequence).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>A token that cancels after a minute: an export stuck on a sink fails its test instead of hanging the run.</summary>
    private static CancellationToken Bounded() => new CancellationTokenSource(TimeSpan.FromMinutes(1)).Token;
}
