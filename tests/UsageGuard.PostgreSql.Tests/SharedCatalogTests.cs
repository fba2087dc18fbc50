using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>The catalog kept in the store: published once, served by every instance within a second.</summary>
[TestFixture]
public sealed class SharedCatalogTests
{
    private string _schema = null!;

    [SetUp]
    public void NewSchema() => _schema = PostgresServer.NewSchema();

    [TearDown]
    public Task DropSchema() => PostgresServer.DropSchemaAsync(_schema);

    private ServiceProvider Instance()
    {
        var services = new ServiceCollection();
        services.AddUsageGuard(o => o.ReservationSweepInterval = TimeSpan.Zero)
            .UsePostgreSql(o =>
            {
                o.ConnectionString = PostgresServer.ConnectionString;
                o.Schema = _schema;
                o.ManyInstances = true;
            })
            .UseCatalog(c => ManyInstancesTests.PlanLimit(c, 100))
            .UsePostgreSqlCatalog();
        return services.BuildServiceProvider();
    }

    private static CatalogOptions Catalog(long limit, string revision)
    {
        var catalog = new CatalogOptions { Revision = revision };
        ManyInstancesTests.PlanLimit(catalog, limit);
        return catalog;
    }

    private static long? Limit(ServiceProvider instance) => instance.GetRequiredService<IEntitlementGuard>().Check("acme", "api.calls").Limit;

    [Test]
    public async Task ACatalogPublishedOnOneInstance_ServesOnEveryInstance_WithinASecond()
    {
        await using ServiceProvider a = Instance();
        await using ServiceProvider b = Instance();
        Limit(a).Should().Be(100, "the configured catalog serves until one is published");
        Limit(b).Should().Be(100);

        await a.GetRequiredService<PostgreSqlCatalogSource>().PublishAsync(Catalog(5, "r2"));

        await ManyInstancesTests.WaitUntilAsync(() => Limit(a) == 5 && Limit(b) == 5, "both instances serve the published catalog", seconds: 1);
        (await b.GetRequiredService<IEntitlementGuard>().ConsumeAsync(new ReservationRequest { CustomerId = "acme", Feature = "api.calls", Quantity = 6 })).Status
            .Should().Be(ReservationStatus.LimitReached);

        await b.GetRequiredService<PostgreSqlCatalogSource>().PublishAsync(Catalog(7, "r3"));
        await ManyInstancesTests.WaitUntilAsync(() => Limit(a) == 7 && Limit(b) == 7, "the next one too", seconds: 1);
    }

    [Test]
    public async Task AnInstanceStartedLater_ServesTheNewestPublishedCatalog_FromItsFirstRequest()
    {
        await using (ServiceProvider a = Instance())
        {
            PostgreSqlCatalogSource source = a.GetRequiredService<PostgreSqlCatalogSource>();
            await source.PublishAsync(Catalog(5, "r2"));
            await source.PublishAsync(Catalog(9, "r3"));
        }

        await using ServiceProvider later = Instance();
        Limit(later).Should().Be(9);
    }

    [Test]
    public async Task AnInvalidCatalog_IsRefusedBeforeItIsPublished_NamingTheProblem()
    {
        await using ServiceProvider a = Instance();
        CatalogOptions invalid = Catalog(5, "bad");
        invalid.Subscriptions.Add(new SubscriptionOptions { Customer = "globex", Plan = "no-such-plan", Start = DateTimeOffset.UnixEpoch });

        Func<Task> publish = () => a.GetRequiredService<PostgreSqlCatalogSource>().PublishAsync(invalid);

        (await publish.Should().ThrowAsync<CatalogValidationException>()).Which.Errors.Should().Contain(e => e.Contains("no-such-plan", StringComparison.Ordinal));
        (await PostgresServer.ScalarAsync($"SELECT count(*) FROM {_schema}.ug_changes;")).Should().Be(0L);
        Limit(a).Should().Be(100);
    }
}
