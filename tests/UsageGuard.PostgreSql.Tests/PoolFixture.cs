using Npgsql;
using NUnit.Framework;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>A schema of its own per test, and pool handles with data sources of their own, as separate processes would have.</summary>
public abstract class PoolFixture
{
    private readonly List<NpgsqlDataSource> _sources = [];

    protected string Schema { get; private set; } = null!;

    [SetUp]
    public void NewSchema() => Schema = PostgresServer.NewSchema();

    [TearDown]
    public async Task DropSchema()
    {
        foreach (NpgsqlDataSource source in _sources)
        {
            await source.DisposeAsync();
        }

        _sources.Clear();
        await PostgresServer.DropSchemaAsync(Schema);
    }

    /// <summary>A pool handle with a data source of its own.</summary>
    internal async Task<PoolLeases> PoolsAsync()
    {
        var source = NpgsqlDataSource.Create(PostgresServer.ConnectionString);
        _sources.Add(source);
        var pools = new PoolLeases(source, Schema);
        await pools.EnsureSchemaAsync();
        return pools;
    }
}
