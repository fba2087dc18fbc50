using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NUnit.Framework;

namespace UsageGuard.Tests.Catalog;

[TestFixture]
public sealed class CatalogProviderTests
{
    private static readonly Dictionary<string, int> Scales = new(StringComparer.Ordinal) { ["credits"] = 6, ["usd"] = 2 };

    [Test]
    public void Apply_AnInvalidChange_IsLoggedNamingTheElement_AndTheLastGoodCatalogKeepsServing()
    {
        var monitor = new ManualOptionsMonitor(DocumentedCatalog.FromJson());
        var logger = new ListLogger();
        using var provider = new CatalogProvider(monitor, Scales, logger);
        CatalogSnapshot first = provider.Current;

        CatalogOptions bad = DocumentedCatalog.FromJson();
        bad.Plans[1].Entitlements[4].Limit = -1m;
        monitor.Change(bad);

        provider.Current.Should().BeSameAs(first);
        provider.Rejected.Should().Be(1);
        logger.Lines.Should().ContainSingle(l => l.Level == LogLevel.Error)
            .Which.Message.Should().Contain("plans[pro].entitlements[seats]: Limit is negative (-1)").And.Contain("version 1 keeps serving");
    }

    [Test]
    public void Apply_AValidChange_IsInForceForTheNextReader_WithTheNextVersion()
    {
        var monitor = new ManualOptionsMonitor(DocumentedCatalog.FromJson());
        using var provider = new CatalogProvider(monitor, Scales, NullLogger.Instance);

        CatalogOptions changed = DocumentedCatalog.FromJson();
        changed.Plans[1].Entitlements[4].Limit = 50m;
        monitor.Change(changed);

        provider.Current.Version.Should().Be(2);
        provider.Current.Offers["pro"].Entitlements["seats"].Limit.Should().Be(50m);

        monitor.Change(DocumentedCatalog.FromJson());
        provider.Current.Version.Should().Be(3);
        monitor.Change(DocumentedCatalog.FromJson());
        provider.Current.Version.Should().Be(3, "a change event without a change of content is not a new version");
    }

    [Test]
    public void Construct_OnAnInvalidCatalog_Throws()
    {
        CatalogOptions bad = DocumentedCatalog.FromJson();
        bad.Features.Add(new FeatureOptions { Id = "sso" });

        Action construct = () => new CatalogProvider(new ManualOptionsMonitor(bad), Scales, NullLogger.Instance).Dispose();

        construct.Should().Throw<CatalogValidationException>().Which.Errors.Should().Equal("features[sso]: the id is used by another feature");
    }

    [Test]
    public void Apply_AChangeOfTheBoundJsonFile_ReachesTheNextReaderWithoutARestart()
    {
        string dir = Directory.CreateTempSubdirectory("usageguard-catalog-").FullName;
        try
        {
            string file = Path.Combine(dir, "appsettings.json");
            File.WriteAllText(file, $"{{ \"Catalog\": {DocumentedCatalog.Json()} }}");
            IConfigurationRoot configuration = new ConfigurationBuilder().AddJsonFile(file, optional: false, reloadOnChange: false).Build();
            var monitor = new ManualOptionsMonitor(Bind(configuration));
            using var provider = new CatalogProvider(monitor, Scales, NullLogger.Instance);

            File.WriteAllText(file, $"{{ \"Catalog\": {DocumentedCatalog.Json().Replace("\"limit\": 25", "\"limit\": 30", StringComparison.Ordinal)} }}");
            configuration.Reload();
            monitor.Change(Bind(configuration));

            provider.Current.Offers["pro"].Entitlements["seats"].Limit.Should().Be(30m);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        static CatalogOptions Bind(IConfiguration configuration)
        {
            var options = new CatalogOptions();
            configuration.GetSection("Catalog").Bind(options);
            return options;
        }
    }

    [Test]
    public void Current_ReadWhileChangesAreApplied_IsAlwaysOneWholeVersion()
    {
        // Two catalogs that differ in two places: a reader must never see one place changed and the other not.
        CatalogOptions a = DocumentedCatalog.FromJson();
        CatalogOptions b = DocumentedCatalog.FromJson();
        b.Plans[1].Entitlements[4].Limit = 30m;
        b.Plans[1].Entitlements[3].Limit = 6_000_000m;
        var monitor = new ManualOptionsMonitor(a);
        using var provider = new CatalogProvider(monitor, Scales, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        long torn = 0;
        long reads = 0;
        Thread[] readers = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                CatalogOffer pro = provider.Current.Offers["pro"];
                bool seatsChanged = pro.Entitlements["seats"].Limit == 30m;
                bool chatChanged = pro.Entitlements["chat.completions"].Limit == 6_000_000m;
                if (seatsChanged != chatChanged)
                {
                    Interlocked.Increment(ref torn);
                }

                Interlocked.Increment(ref reads);
            }
        })).ToArray();
        foreach (Thread reader in readers)
        {
            reader.Start();
        }

        for (int i = 0; i < 200; i++)
        {
            monitor.Change(i % 2 == 0 ? b : a);
        }

        stop.Cancel();
        foreach (Thread reader in readers)
        {
            reader.Join();
        }

        Interlocked.Read(ref torn).Should().Be(0);
        Interlocked.Read(ref reads).Should().BePositive();
        provider.Current.Version.Should().Be(201);
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
    }
}
