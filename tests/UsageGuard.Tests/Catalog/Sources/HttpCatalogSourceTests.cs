using System.Net;
using System.Net.Http.Headers;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests.Catalog.Sources;

[TestFixture]
public sealed class HttpCatalogSourceTests
{
    private static readonly Uri Endpoint = new("https://config.test/catalog.json?token=secret");
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    private ManualTimeProvider _time = null!;
    private RecordingLogger _log = null!;
    private TempDirectory _dir = null!;
    private string _cacheFile = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new ManualTimeProvider();
        _log = new RecordingLogger();
        _dir = new TempDirectory();
        _cacheFile = _dir.File(Path.Combine("cache", "catalog.json"));
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public async Task Poll_SendsTheLastETag_AndA304ChangesNothing()
    {
        var handler = new TestHttpHandler((r, _) => Task.FromResult(r.Number == 1
            ? TestHttpHandler.Json(RemoteDocuments.Json("r1"), "\"v1\"")
            : TestHttpHandler.Status(HttpStatusCode.NotModified)));
        await using HttpCatalogSource source = await StartedAsync(handler);
        CatalogOptions first = source.Current!;
        IChangeToken token = source.GetChangeToken();

        await PollAgainAsync(source);
        await PollAgainAsync(source);

        handler.Requests.Select(r => r.IfNoneMatch).Should().Equal(null, "\"v1\"", "\"v1\"");
        handler.Requests.Should().OnlyContain(r => r.Method == HttpMethod.Get && r.Uri == Endpoint);
        source.Current.Should().BeSameAs(first);
        first.Revision.Should().Be("r1");
        token.HasChanged.Should().BeFalse("a 304 is not a change");
    }

    [Test]
    public async Task Poll_ANewDocument_BecomesCurrent_FiresTheChangeToken_AndIsPersistedWithItsETag()
    {
        string etag = "\"v1\"";
        string body = RemoteDocuments.Json("r1");
        var handler = new TestHttpHandler(() => TestHttpHandler.Json(body, etag));
        await using HttpCatalogSource source = await StartedAsync(handler);
        IChangeToken token = source.GetChangeToken();
        int callbacks = 0;
        using IDisposable registration = token.RegisterChangeCallback(_ => callbacks++, null);

        (etag, body) = ("\"v2\"", RemoteDocuments.Json("r2"));
        await PollAgainAsync(source);

        source.Current!.Revision.Should().Be("r2");
        token.HasChanged.Should().BeTrue();
        callbacks.Should().Be(1);
        source.GetChangeToken().HasChanged.Should().BeFalse("each change has a token of its own");
        CatalogCacheEntry persisted = CatalogCacheFile.Read(_cacheFile)!;
        persisted.ETag.Should().Be("\"v2\"");
        persisted.SavedAt.Should().Be(_time.GetUtcNow());
        RemoteDocuments.Json(persisted.Catalog).Should().Be(RemoteDocuments.Json("r2"));
        Directory.GetFiles(Path.GetDirectoryName(_cacheFile)!).Should().ContainSingle("the temporary file was moved over the cache file");
        _log.WithId(210).Should().HaveCount(2).And.OnlyContain(e => e.Level == LogLevel.Information);
        _log.Entries.Should().NotContain(e => e.Message.Contains("secret", StringComparison.Ordinal), "the query of the endpoint may carry credentials");
    }

    [Test]
    public async Task Poll_TheSameContentAgain_IsNotAChange()
    {
        // An endpoint without ETags answers 200 every time.
        var handler = new TestHttpHandler(() => TestHttpHandler.Json(RemoteDocuments.Json("r1"), etag: null));
        await using HttpCatalogSource source = await StartedAsync(handler);
        IChangeToken token = source.GetChangeToken();

        await PollAgainAsync(source);

        token.HasChanged.Should().BeFalse();
        handler.Requests.Should().HaveCount(2).And.OnlyContain(r => r.IfNoneMatch == null);
        _log.WithId(210).Should().ContainSingle();
    }

    [Test]
    public async Task Poll_WhileTheEndpointIsDown_KeepsServingTheLastGood_AndWarnsOncePerOutage()
    {
        var handler = new TestHttpHandler((r, _) => r.Number switch
        {
            1 => Task.FromResult(TestHttpHandler.Json(RemoteDocuments.Json("r1"), "\"v1\"")),
            2 or 3 => throw new HttpRequestException("Connection refused (config.test:443)"),
            4 => Task.FromResult(TestHttpHandler.Status(HttpStatusCode.ServiceUnavailable)),
            _ => Task.FromResult(TestHttpHandler.Status(HttpStatusCode.NotModified)),
        });
        await using HttpCatalogSource source = await StartedAsync(handler);
        CatalogOptions good = source.Current!;

        for (int i = 0; i < 3; i++)
        {
            await PollAgainAsync(source);
            source.Current.Should().BeSameAs(good);
        }

        await PollAgainAsync(source);

        _log.WithId(212).Should().ContainSingle().Which.Should().Match<RecordingLogger.Entry>(e =>
            e.Level == LogLevel.Warning && e.Message.Contains("Connection refused", StringComparison.Ordinal) && e.Message.Contains("https://config.test/catalog.json", StringComparison.Ordinal));
        _log.WithId(213).Select(e => e.Level).Should().Equal(LogLevel.Debug, LogLevel.Debug);
        _log.WithId(213).Last().Message.Should().Contain("503");
        _log.WithId(214).Should().ContainSingle().Which.Message.Should().Contain("after 3 failed polls");
        handler.Requests.Should().HaveCount(5);
        handler.Requests[4].IfNoneMatch.Should().Be("\"v1\"");
    }

    [Test]
    public async Task Poll_WithNoAnswerWithinTheRequestTimeout_FailsAndTheNextPollIsScheduled()
    {
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new TestHttpHandler(async (r, ct) =>
        {
            if (r.Number == 1)
            {
                asked.SetResult();
                await Task.Delay(Timeout.Infinite, ct);
            }

            return TestHttpHandler.Json(RemoteDocuments.Json("r1"), "\"v1\"");
        });
        await using HttpCatalogSource source = New(handler, o => o.RequestTimeout = TimeSpan.FromSeconds(10));
        source.Start();
        await asked.Task;

        _time.Advance(TimeSpan.FromSeconds(10));
        await source.LastPoll;

        source.Current.Should().BeNull();
        _log.WithId(212).Should().ContainSingle().Which.Message.Should().Contain("no response within 00:00:10");
        await PollAgainAsync(source);
        source.Current!.Revision.Should().Be("r1");
    }

    [Test]
    public async Task Poll_AnInvalidDocument_IsRejected_NotPersisted_AndLoggedOnce()
    {
        // The endpoint ignores If-None-Match, so the source sees the bad document on every poll.
        var handler = new TestHttpHandler((r, _) => Task.FromResult(r.Number == 1
            ? TestHttpHandler.Json(RemoteDocuments.Json("r1"), "\"v1\"")
            : TestHttpHandler.Json(RemoteDocuments.Invalid("r2"), "\"bad\"")));
        await using HttpCatalogSource source = await StartedAsync(handler);
        CatalogOptions good = source.Current!;
        IChangeToken token = source.GetChangeToken();
        byte[] persisted = await File.ReadAllBytesAsync(_cacheFile);

        for (int i = 0; i < 3; i++)
        {
            await PollAgainAsync(source);
        }

        source.Current.Should().BeSameAs(good);
        token.HasChanged.Should().BeFalse();
        (await File.ReadAllBytesAsync(_cacheFile)).Should().Equal(persisted, "a rejected document is never persisted");
        _log.WithId(211).Should().ContainSingle().Which.Should().Match<RecordingLogger.Entry>(e =>
            e.Level == LogLevel.Error && e.Message.Contains("plans[pro].entitlements[seats]: Limit is negative (-1)", StringComparison.Ordinal) && e.Message.Contains("\"bad\"", StringComparison.Ordinal));
        handler.Requests.Skip(2).Should().OnlyContain(r => r.IfNoneMatch == "\"bad\"", "the rejected ETag is asked with, so a well-behaved endpoint answers 304");
    }

    [TestCase("<html>502 Bad Gateway</html>", "the document is not a catalog in JSON")]
    [TestCase("null", "the document is null")]
    [TestCase("{ \"features\": 3 }", "the document is not a catalog in JSON")]
    public async Task Poll_ADocumentThatIsNotACatalog_IsRejected(string body, string expected)
    {
        var handler = new TestHttpHandler(() => TestHttpHandler.Json(body, "\"x\""));
        await using HttpCatalogSource source = await StartedAsync(handler);

        source.Current.Should().BeNull();
        File.Exists(_cacheFile).Should().BeFalse();
        _log.WithId(211).Should().ContainSingle().Which.Message.Should().Contain(expected);
    }

    [Test]
    public async Task Poll_ADocumentLargerThanTheLimit_FailsThePoll()
    {
        string huge = new(' ', HttpCatalogSource.MaxDocumentBytes + 1);
        var handler = new TestHttpHandler(() => TestHttpHandler.Json(huge, "\"huge\""));
        await using HttpCatalogSource source = await StartedAsync(handler);

        source.Current.Should().BeNull();
        _log.WithId(212).Should().ContainSingle();
        _log.WithId(211).Should().BeEmpty("the document was never read whole");
    }

    [Test]
    public async Task Start_AfterARestartWhileTheEndpointIsDown_ServesThePersistedDocument()
    {
        await using (HttpCatalogSource first = await StartedAsync(new TestHttpHandler(() => TestHttpHandler.Json(RemoteDocuments.Json("r1"), "\"v1\""))))
        {
            first.Current!.Revision.Should().Be("r1");
        }

        var down = new TestHttpHandler((_, _) => throw new HttpRequestException("Name or service not known"));
        await using HttpCatalogSource restarted = New(down);
        restarted.Start();

        restarted.Current.Should().NotBeNull("the cache is read before the first poll");
        RemoteDocuments.Json(restarted.Current!).Should().Be(RemoteDocuments.Json("r1"));
        await restarted.LastPoll;
        restarted.Current!.Revision.Should().Be("r1");
        down.Requests.Should().ContainSingle().Which.IfNoneMatch.Should().Be("\"v1\"", "the persisted ETag is asked with after a restart");
        _log.WithId(215).Should().ContainSingle().Which.Message.Should().Contain("r1");
    }

    [TestCase("{ not json", TestName = "Start_ACacheFileThatIsNotJson_IsIgnored")]
    [TestCase("[]", TestName = "Start_ACacheFileThatIsNotAnObject_IsIgnored")]
    [TestCase("{ \"format\": 1, \"etag\": \"\\\"v0\\\"\" }", TestName = "Start_ACacheFileWithoutACatalog_IsIgnored")]
    [TestCase("{ \"format\": 2, \"catalog\": {} }", TestName = "Start_ACacheFileOfAnotherFormat_IsIgnored")]
    [TestCase("{ \"format\": 1, \"catalog\": { \"features\": [ { \"id\": \"\" } ] } }", TestName = "Start_ACacheFileWithAnInvalidCatalog_IsIgnored")]
    public async Task Start_ACorruptCacheFile_IsLoggedAndIgnored(string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_cacheFile)!);
        await File.WriteAllTextAsync(_cacheFile, content);
        var handler = new TestHttpHandler(() => TestHttpHandler.Json(RemoteDocuments.Json("r1"), "\"v1\""));
        await using HttpCatalogSource source = New(handler);

        source.Start();

        source.Current.Should().BeNull();
        _log.WithId(216).Should().ContainSingle().Which.Level.Should().Be(LogLevel.Warning);
        await source.LastPoll;
        handler.Requests.Single().IfNoneMatch.Should().BeNull("nothing of a corrupt cache is used");
        source.Current!.Revision.Should().Be("r1");
        CatalogCacheFile.Read(_cacheFile)!.ETag.Should().Be("\"v1\"", "the next accepted document replaces the corrupt file");
    }

    [Test]
    public async Task Start_WithoutACacheFileOption_PersistsNothing()
    {
        var handler = new TestHttpHandler(() => TestHttpHandler.Json(RemoteDocuments.Json("r1"), "\"v1\""));
        await using HttpCatalogSource source = New(handler, o => o.CacheFile = null);
        source.Start();
        await source.LastPoll;

        source.Current!.Revision.Should().Be("r1");
        Directory.EnumerateFileSystemEntries(_dir.Path).Should().BeEmpty();
    }

    [Test]
    public async Task Poll_NeverOverlaps_AndTheNextIsScheduledAfterTheLastEnds()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new TestHttpHandler(async (r, ct) =>
        {
            if (r.Number == 1)
            {
                asked.SetResult();
                await release.Task.WaitAsync(ct);
            }

            return TestHttpHandler.Status(HttpStatusCode.NotModified);
        });
        await using HttpCatalogSource source = New(handler, o => o.RequestTimeout = TimeSpan.FromDays(1));
        source.Start();
        await asked.Task;
        Task inFlight = source.LastPoll;

        for (int i = 0; i < 3; i++)
        {
            _time.Advance(Interval);
        }

        source.PollAsync().Should().BeSameAs(inFlight, "a poll asked for while one is in flight is that poll");
        handler.Requests.Should().HaveCount(1);

        release.SetResult();
        await inFlight;
        _time.Advance(Interval - TimeSpan.FromSeconds(1));
        source.LastPoll.Should().BeSameAs(inFlight, "the next poll is due a whole interval after the last one ended");
        _time.Advance(TimeSpan.FromSeconds(1));
        await source.LastPoll;
        handler.Requests.Should().HaveCount(2);
    }

    [Test]
    public async Task DisposeAsync_StopsTheTimer_AndDisposesTheHandler()
    {
        var handler = new TestHttpHandler(() => TestHttpHandler.Status(HttpStatusCode.NotModified));
        var clock = new TrackingTimeProvider(_time);
        HttpCatalogSource source = New(handler, clock: clock);
        source.Start();
        await source.LastPoll;
        clock.AliveTimers.Should().Be(1, "the poll timer waits for the next poll; the request's timeout is gone with the request");

        await source.DisposeAsync();
        for (int i = 0; i < 3; i++)
        {
            _time.Advance(Interval);
        }

        clock.AliveTimers.Should().Be(0);
        handler.Requests.Should().HaveCount(1);
        handler.Disposed.Should().BeTrue();
        source.PollAsync().IsCompleted.Should().BeTrue("a disposed source does not poll");
        await source.DisposeAsync();
    }

    [Test]
    public async Task DisposeAsync_DuringAPoll_CancelsIt_AndLogsNoFailure()
    {
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new TestHttpHandler(async (_, ct) =>
        {
            asked.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return TestHttpHandler.Status(HttpStatusCode.NotModified);
        });
        HttpCatalogSource source = New(handler);
        source.Start();
        await asked.Task;

        await source.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        _log.Entries.Should().NotContain(e => e.Level >= LogLevel.Warning);
    }

    [Test]
    public async Task Poll_ConfigureHeaders_SetsHeadersOnEveryRequest()
    {
        int calls = 0;
        var handler = new TestHttpHandler(() => TestHttpHandler.Status(HttpStatusCode.NotModified));
        await using HttpCatalogSource source = New(handler, o => o.ConfigureHeaders = h => h.Authorization = new AuthenticationHeaderValue("Bearer", $"token-{++calls}"));
        source.Start();
        await source.LastPoll;
        await PollAgainAsync(source);

        handler.Requests.Select(r => r.Authorization).Should().Equal("Bearer token-1", "Bearer token-2");
    }

    [Test]
    public void Construct_WithInvalidOptions_ThrowsNamingTheOption()
    {
        using var handler = new TestHttpHandler(() => TestHttpHandler.Status(HttpStatusCode.NotModified));

        Action construct = () => New(handler, o => o.PollInterval = TimeSpan.Zero).Dispose();

        construct.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("PollInterval");
    }

    private HttpCatalogSource New(TestHttpHandler handler, Action<HttpCatalogSourceOptions>? configure = null, TimeProvider? clock = null)
    {
        var options = new HttpCatalogSourceOptions { Endpoint = Endpoint, PollInterval = Interval, CacheFile = _cacheFile };
        configure?.Invoke(options);
        return new HttpCatalogSource(options, RemoteDocuments.Scales, handler, clock ?? _time, _log);
    }

    private async Task<HttpCatalogSource> StartedAsync(TestHttpHandler handler)
    {
        HttpCatalogSource source = New(handler);
        source.Start();
        await source.LastPoll;
        return source;
    }

    /// <summary>Moves the clock to the next poll and waits for it to end.</summary>
    private async Task PollAgainAsync(HttpCatalogSource source)
    {
        Task previous = source.LastPoll;
        _time.Advance(Interval);
        source.LastPoll.Should().NotBeSameAs(previous, "the timer starts the next poll one interval after the last one ended");
        await source.LastPoll;
    }
}
