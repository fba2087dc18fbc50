using System.Net;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests.Catalog.Sources;

[TestFixture]
public sealed class CatalogSourceUsageGuardBuilderExtensionsTests
{
    private static readonly Uri Endpoint = new("https://config.test/catalog.json");
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    private ManualTimeProvider _time = null!;
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new ManualTimeProvider();
        _dir = new TempDirectory();
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public async Task UseHttpCatalog_EachNewDocument_ReachesTheOptionsMonitor()
    {
        string body = RemoteDocuments.Json("r1");
        string etag = "\"v1\"";
        var handler = new TestHttpHandler(() => TestHttpHandler.Json(body, etag));
        await using ServiceProvider provider = Build(handler);
        var monitor = provider.GetRequiredService<IOptionsMonitor<CatalogOptions>>();
        var reported = new List<string?>();
        using IDisposable? subscription = monitor.OnChange(o => reported.Add(o.Revision));
        var source = (HttpCatalogSource)provider.GetRequiredService<ICatalogSource>();
        await source.LastPoll;

        RemoteDocuments.Json(monitor.CurrentValue).Should().Be(RemoteDocuments.Json("r1"), "the document replaces the configured catalog whole");

        (body, etag) = (RemoteDocuments.Json("r2"), "\"v2\"");
        _time.Advance(Interval);
        await source.LastPoll;

        monitor.CurrentValue.Revision.Should().Be("r2");
        reported.Should().EndWith("r2");
        RemoteDocuments.Json(monitor.CurrentValue).Should().Be(RemoteDocuments.Json("r2"));
    }

    [Test]
    public async Task UseHttpCatalog_ANewDocument_IsSwappedInByTheCatalogProvider()
    {
        string body = RemoteDocuments.Json("r1");
        var handler = new TestHttpHandler(() => TestHttpHandler.Json(body, etag: null));
        await using ServiceProvider provider = Build(handler);
        await StartHostedServicesAsync(provider);
        using var catalog = new CatalogProvider(provider.GetRequiredService<IOptionsMonitor<CatalogOptions>>(), RemoteDocuments.Scales, NullLogger.Instance);
        catalog.Current.Revision.Should().Be("r1");

        CatalogOptions changed = RemoteDocuments.Catalog("r2");
        changed.Plans.Single(p => p.Id == "pro").Entitlements.Single(e => e.Feature == "seats").Limit = 40m;
        body = RemoteDocuments.Json(changed);
        _time.Advance(Interval);
        await ((HttpCatalogSource)provider.GetRequiredService<ICatalogSource>()).LastPoll;

        catalog.Current.Version.Should().Be(2);
        catalog.Current.Revision.Should().Be("r2");
        catalog.Current.Offers["pro"].Entitlements["seats"].Limit.Should().Be(40m);
    }

    [Test]
    public async Task UseHttpCatalog_WithNoDocumentYet_TheConfiguredCatalogApplies()
    {
        var handler = new TestHttpHandler((_, _) => throw new HttpRequestException("Connection refused"));
        await using ServiceProvider provider = Build(handler);
        var monitor = provider.GetRequiredService<IOptionsMonitor<CatalogOptions>>();
        await ((HttpCatalogSource)provider.GetRequiredService<ICatalogSource>()).LastPoll;

        monitor.CurrentValue.Revision.Should().Be("configured");
        monitor.CurrentValue.Features.Should().ContainSingle().Which.Id.Should().Be("configured-feature");
    }

    [Test]
    public async Task UseHttpCatalog_AfterARestartWhileTheEndpointIsDown_ServesThePersistedDocument()
    {
        string cacheFile = _dir.File("catalog-cache.json");
        var up = new TestHttpHandler(() => TestHttpHandler.Json(RemoteDocuments.Json("r1"), "\"v1\""));
        await using (ServiceProvider first = Build(up, cacheFile))
        {
            await StartHostedServicesAsync(first);
            first.GetRequiredService<IOptionsMonitor<CatalogOptions>>().CurrentValue.Revision.Should().Be("r1");
            await StopHostedServicesAsync(first);
        }

        var down = new TestHttpHandler((_, _) => throw new HttpRequestException("Connection refused"));
        await using ServiceProvider restarted = Build(down, cacheFile);
        await StartHostedServicesAsync(restarted);

        RemoteDocuments.Json(restarted.GetRequiredService<IOptionsMonitor<CatalogOptions>>().CurrentValue).Should().Be(RemoteDocuments.Json("r1"));
    }

    [Test]
    public async Task UseHttpCatalog_HostStart_WaitsForTheFirstPoll_WhenNothingIsCached()
    {
        var handler = new TestHttpHandler(async (_, ct) =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
            return TestHttpHandler.Json(RemoteDocuments.Json("r1"), "\"v1\"");
        });
        await using ServiceProvider provider = Build(handler);

        await StartHostedServicesAsync(provider);

        provider.GetRequiredService<IOptionsMonitor<CatalogOptions>>().CurrentValue.Revision.Should().Be("r1");
    }

    [Test]
    public async Task UseHttpCatalog_HostStop_StopsPolling()
    {
        var handler = new TestHttpHandler(() => TestHttpHandler.Status(HttpStatusCode.NotModified));
        await using ServiceProvider provider = Build(handler);
        await StartHostedServicesAsync(provider);

        await StopHostedServicesAsync(provider);
        _time.Advance(Interval);
        _time.Advance(Interval);

        handler.Requests.Should().HaveCount(1);
        handler.Disposed.Should().BeTrue();
    }

    [Test]
    public void UseHttpCatalog_TheSourceLogsThroughTheContainersLoggerFactory()
    {
        var log = new RecordingLogger();
        var handler = new TestHttpHandler((_, _) => throw new HttpRequestException("Connection refused"));
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(log);
        using ServiceProvider provider = Build(handler, services: services);

        ((HttpCatalogSource)provider.GetRequiredService<ICatalogSource>()).LastPoll.Wait(TimeSpan.FromSeconds(10)).Should().BeTrue();

        log.WithId(212).Should().ContainSingle();
    }

    public static IEnumerable<TestCaseData> InvalidOptions()
    {
        yield return new TestCaseData(new Action<HttpCatalogSourceOptions>(_ => { }), "Endpoint").SetName("UseHttpCatalog_WithoutAnEndpoint_Throws");
        yield return new TestCaseData(new Action<HttpCatalogSourceOptions>(o => o.Endpoint = new Uri("catalog.json", UriKind.Relative)), "Endpoint").SetName("UseHttpCatalog_WithARelativeEndpoint_Throws");
        yield return new TestCaseData(new Action<HttpCatalogSourceOptions>(o => o.Endpoint = new Uri("ftp://config.test/catalog.json")), "Endpoint").SetName("UseHttpCatalog_WithAnFtpEndpoint_Throws");
        yield return new TestCaseData(new Action<HttpCatalogSourceOptions>(o => { o.Endpoint = Endpoint; o.PollInterval = TimeSpan.Zero; }), "PollInterval").SetName("UseHttpCatalog_WithAZeroPollInterval_Throws");
        yield return new TestCaseData(new Action<HttpCatalogSourceOptions>(o => { o.Endpoint = Endpoint; o.RequestTimeout = TimeSpan.FromSeconds(-1); }), "RequestTimeout").SetName("UseHttpCatalog_WithANegativeRequestTimeout_Throws");
        yield return new TestCaseData(new Action<HttpCatalogSourceOptions>(o => { o.Endpoint = Endpoint; o.CacheFile = " "; }), "CacheFile").SetName("UseHttpCatalog_WithABlankCacheFile_Throws");
    }

    [TestCaseSource(nameof(InvalidOptions))]
    public void UseHttpCatalog_WithInvalidOptions_ThrowsNamingTheOption(Action<HttpCatalogSourceOptions> configure, string option)
    {
        IUsageGuardBuilder builder = new ServiceCollection().AddUsageGuard();

        Action use = () => builder.UseHttpCatalog(configure);

        use.Should().Throw<ArgumentException>().Which.Should().Match<ArgumentException>(e => e.ParamName == option && e.Message.Contains("HttpCatalogSourceOptions." + option, StringComparison.Ordinal));
    }

    [Test]
    public void UseCatalogSource_ACustomSource_ReplacesTheConfiguredCatalogWhileItHasADocument()
    {
        var source = new ManualCatalogSource();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddUsageGuard(RemoteDocuments.AddCreditTypes).UseCatalogSource(source);
        ConfigureStaticCatalog(services);
        using ServiceProvider provider = services.BuildServiceProvider();
        var monitor = provider.GetRequiredService<IOptionsMonitor<CatalogOptions>>();
        var reported = new List<string?>();
        using IDisposable? subscription = monitor.OnChange(o => reported.Add(o.Revision));

        monitor.CurrentValue.Revision.Should().Be("configured");
        source.Set(RemoteDocuments.Catalog("r1"));
        monitor.CurrentValue.Revision.Should().Be("r1");
        source.Set(RemoteDocuments.Catalog("r2"));

        reported.Should().Equal("r1", "r2");
        RemoteDocuments.Json(monitor.CurrentValue).Should().Be(RemoteDocuments.Json("r2"));
    }

    [Test]
    public void UseCatalogSource_CalledAgain_ReplacesTheEarlierSource()
    {
        var first = new ManualCatalogSource();
        first.Set(RemoteDocuments.Catalog("first"));
        var second = new ManualCatalogSource();
        second.Set(RemoteDocuments.Catalog("second"));
        var services = new ServiceCollection();
        services.AddUsageGuard(RemoteDocuments.AddCreditTypes).UseHttpCatalog(o => o.Endpoint = Endpoint).UseCatalogSource(first).UseCatalogSource(second);
        using ServiceProvider provider = services.BuildServiceProvider();

        provider.GetRequiredService<ICatalogSource>().Should().BeSameAs(second);
        provider.GetRequiredService<IOptionsMonitor<CatalogOptions>>().CurrentValue.Revision.Should().Be("second");
        provider.GetServices<IPostConfigureOptions<CatalogOptions>>().Should().ContainSingle();
        provider.GetServices<IOptionsChangeTokenSource<CatalogOptions>>().Should().ContainSingle();
    }

    private ServiceProvider Build(TestHttpHandler handler, string? cacheFile = null, IServiceCollection? services = null)
    {
        services ??= new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddUsageGuard(RemoteDocuments.AddCreditTypes).UseHttpCatalog(o =>
        {
            o.Endpoint = Endpoint;
            o.PollInterval = Interval;
            o.CacheFile = cacheFile;
            o.PrimaryHandler = () => handler;
        });
        ConfigureStaticCatalog(services);
        return services.BuildServiceProvider();
    }

    /// <summary>A catalog configured in code, registered after the source: the source's document must still win whole.</summary>
    private static void ConfigureStaticCatalog(IServiceCollection services) =>
        services.Configure<CatalogOptions>(o =>
        {
            o.Revision = "configured";
            o.Features.Add(new FeatureOptions { Id = "configured-feature" });
        });

    private static async Task StartHostedServicesAsync(IServiceProvider provider)
    {
        foreach (IHostedService service in provider.GetServices<IHostedService>())
        {
            await service.StartAsync(CancellationToken.None);
        }
    }

    private static async Task StopHostedServicesAsync(IServiceProvider provider)
    {
        foreach (IHostedService service in provider.GetServices<IHostedService>().Reverse())
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>A source a test sets by hand.</summary>
    private sealed class ManualCatalogSource : ICatalogSource
    {
        private CancellationTokenSource _changes = new();

        public CatalogOptions? Current { get; private set; }

        public IChangeToken GetChangeToken() => new CancellationChangeToken(_changes.Token);

        public void Set(CatalogOptions catalog)
        {
            Current = catalog;
            Interlocked.Exchange(ref _changes, new CancellationTokenSource()).Cancel();
        }
    }
}
