using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Metering;

/// <summary>The CloudEvents and Stripe-shaped HTTP sinks, against a local HTTP server that fails the first requests and deduplicates by id.</summary>
[TestFixture]
public sealed class HttpExportersTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("ug-http-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    /// <summary>A local server: records each request, answers 503 to the first <c>failFirst</c>, then 200.</summary>
    private sealed class LocalServer : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _loop;
        private int _failFirst;

        public LocalServer(int failFirst)
        {
            _failFirst = failFirst;
            for (int attempt = 0; ; attempt++)
            {
                int port = Random.Shared.Next(20_000, 60_000);
                try
                {
                    _listener.Prefixes.Clear();
                    _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
                    _listener.Start();
                    BaseAddress = new Uri($"http://127.0.0.1:{port}/");
                    break;
                }
                catch (HttpListenerException) when (attempt < 20)
                {
                }
            }

            _loop = Task.Run(Serve);
        }

        public Uri BaseAddress { get; private set; } = null!;

        public ConcurrentQueue<(string Method, string Path, string ContentType, Dictionary<string, string> Headers, string Body, int Status)> Requests { get; } = new();

        private async Task Serve()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception) when (!_listener.IsListening)
                {
                    return;
                }

                int status = 500;
                try
                {
                    using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                    string body = await reader.ReadToEndAsync();
                    status = Interlocked.Decrement(ref _failFirst) >= 0 ? 503 : 200;
                    var headers = context.Request.Headers.AllKeys.Where(k => k is not null).ToDictionary(k => k!, k => context.Request.Headers[k]!, StringComparer.OrdinalIgnoreCase);
                    Requests.Enqueue((context.Request.HttpMethod, context.Request.Url!.AbsolutePath, context.Request.ContentType ?? "", headers, body, status));
                }
                finally
                {
                    // Always answered: a request the server failed to record must not leave the client waiting.
                    context.Response.StatusCode = status;
                    context.Response.Close();
                }
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
    }

    private UsageExportOptions Options() => new() { CursorDirectory = _dir, BatchSize = 4, RetryDelay = TimeSpan.FromMilliseconds(1), MaxRetryDelay = TimeSpan.FromMilliseconds(5) };

    private static async Task<GuardHarness> WithSettlements()
    {
        GuardHarness h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 100m);
        for (int i = 0; i < 6; i++)
        {
            (await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 1.25m, Subject = "alice" })).IsAdmitted.Should().BeTrue();
        }

        ReservationResult zero = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m });
        await zero.Reservation.SettleAsync(0m);
        await h.Ledger.FlushAsync();
        return h;
    }

    [Test]
    public async Task CloudEvents_PostsBatchedCloudEvents_RetriesA503_AndTheReceiverSeesEveryIdOnce()
    {
        await using GuardHarness h = await WithSettlements();
        using var server = new LocalServer(failFirst: 1);
        using var http = new HttpClient();
        var sink = new CloudEventsHttpExporter(http, new Uri(server.BaseAddress, "events"), "/usageguard/test");

        (await new UsageExport(h.Store, sink, Options()).ExportPendingAsync(Bounded())).Should().Be(7);

        var requests = server.Requests.ToList();
        requests.Should().HaveCount(3, "two batches of at most 4, the first refused once");
        requests.Should().OnlyContain(r => r.Method == "POST" && r.Path == "/events" && r.ContentType == "application/cloudevents-batch+json");
        requests[0].Body.Should().Be(requests[1].Body, "a refused batch is sent again unchanged");
        var accepted = requests.Where(r => r.Status == 200).SelectMany(r => JsonDocument.Parse(r.Body).RootElement.EnumerateArray().Select(e => e.Clone())).ToList();
        accepted.Select(e => e.GetProperty("id").GetString()).Should().OnlyHaveUniqueItems().And.HaveCount(7);
        JsonElement first = accepted[0];
        first.GetProperty("specversion").GetString().Should().Be("1.0");
        first.GetProperty("type").GetString().Should().Be(CloudEventsHttpExporter.EventType);
        first.GetProperty("source").GetString().Should().Be("/usageguard/test");
        first.GetProperty("subject").GetString().Should().Be("acme");
        first.GetProperty("data").GetProperty("consumed").GetDecimal().Should().Be(1.25m);
        first.GetProperty("data").GetProperty("id").GetString().Should().Be(first.GetProperty("id").GetString());
    }

    [Test]
    public async Task Stripe_PostsOneFormEncodedMeterEventPerUsageEvent_WithTheIdAsIdempotencyKey_SkippingZeroes()
    {
        await using GuardHarness h = await WithSettlements();
        using var server = new LocalServer(failFirst: 1);
        using var http = new HttpClient();
        var sink = new StripeMeterEventsExporter(http, new StripeMeterEventsExporterOptions
        {
            EventName = "ai_credits",
            ApiKey = "sk_test_123",
            BaseAddress = server.BaseAddress,
            StripeCustomerId = e => "cus_" + e.CustomerId,
        });

        (await new UsageExport(h.Store, sink, Options()).ExportPendingAsync(Bounded())).Should().Be(7);

        var requests = server.Requests.ToList();
        var taken = requests.Where(r => r.Status == 200).ToList();
        taken.Should().HaveCount(6, "the settlement that charged nothing is not a meter event");
        requests.Should().HaveCount(7, "the first request was refused and sent again");
        List<UsageEvent> events = await UsageEvents.ReadAsync(h.Store).ToListAsync();

        foreach (var (request, e) in taken.Zip(events.Where(e => e.Consumed.Units > 0)))
        {
            request.Path.Should().Be("/v1/billing/meter_events");
            request.ContentType.Should().StartWith("application/x-www-form-urlencoded");
            request.Headers["Authorization"].Should().Be("Bearer sk_test_123");
            request.Headers["Idempotency-Key"].Should().Be(e.Id);
            Dictionary<string, string> form = request.Body.Split('&').Select(p => p.Split('=')).ToDictionary(p => WebUtility.UrlDecode(p[0]), p => WebUtility.UrlDecode(p[1]));
            form.Should().BeEquivalentTo(new Dictionary<string, string>
            {
                ["event_name"] = "ai_credits",
                ["payload[stripe_customer_id]"] = "cus_acme",
                ["payload[value]"] = "1250000",
                ["identifier"] = e.Id,
                ["timestamp"] = e.Timestamp.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
        }
    }

    [Test]
    public void Constructors_RefuseMissingSettings_NamingThem()
    {
        using var http = new HttpClient();
        FluentActions.Invoking(() => new StripeMeterEventsExporter(http, new StripeMeterEventsExporterOptions { ApiKey = "k" })).Should().Throw<ArgumentException>().WithMessage("*EventName*");
        FluentActions.Invoking(() => new StripeMeterEventsExporter(http, new StripeMeterEventsExporterOptions { EventName = "e" })).Should().Throw<ArgumentException>().WithMessage("*ApiKey*");
        FluentActions.Invoking(() => new CloudEventsHttpExporter(http, new Uri("/relative", UriKind.Relative), "/s")).Should().Throw<ArgumentException>().WithMessage("*absolute*");
    }

    /// <summary>A token that cancels after a minute: an export stuck on a sink fails its test instead of hanging the run.</summary>
    private static CancellationToken Bounded() => new CancellationTokenSource(TimeSpan.FromMinutes(1)).Token;
}
