using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>The store contract on PostgreSQL, each test in a schema of its own.</summary>
[TestFixture]
public sealed class PostgreSqlLedgerStoreContractTests : LedgerStoreContractTests
{
    private readonly List<PostgreSqlLedgerStore> _stores = [];
    private readonly List<string> _schemas = [];

    [TearDown]
    public async Task DropSchemas()
    {
        foreach (PostgreSqlLedgerStore store in _stores)
        {
            await store.DisposeAsync();
        }

        _stores.Clear();
        foreach (string schema in _schemas)
        {
            await PostgresServer.DropSchemaAsync(schema);
        }

        _schemas.Clear();
    }

    protected override async Task<ILedgerStore> CreateStoreAsync()
    {
        string schema = PostgresServer.NewSchema();
        _schemas.Add(schema);
        PostgreSqlLedgerStore store = await PostgreSqlLedgerStore.CreateAsync(new PostgreSqlLedgerStoreOptions { ConnectionString = PostgresServer.ConnectionString, Schema = schema });
        _stores.Add(store);
        return store;
    }
}
