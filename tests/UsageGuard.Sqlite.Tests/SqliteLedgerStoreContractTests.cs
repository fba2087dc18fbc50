using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Sqlite.Tests;

/// <summary>The store contract on SQLite, with the customer index filled every 8,192 entries (the default) or every 2.</summary>
[TestFixture(8192)]
[TestFixture(2)]
public sealed class SqliteLedgerStoreContractTests(int indexEvery) : LedgerStoreContractTests
{
    private readonly List<SqliteLedgerStore> _stores = [];
    private TempDirectory _dir = null!;

    [SetUp]
    public void CreateDirectory() => _dir = new TempDirectory();

    [TearDown]
    public void DeleteDirectory()
    {
        foreach (SqliteLedgerStore store in _stores)
        {
            store.Dispose();
        }

        _stores.Clear();
        _dir.Dispose();
    }

    protected override Task<ILedgerStore> CreateStoreAsync()
    {
        var store = new SqliteLedgerStore(new SqliteLedgerStoreOptions { ConnectionString = "Data Source=" + _dir.File("contract.db"), IndexEvery = indexEvery });
        _stores.Add(store);
        return Task.FromResult<ILedgerStore>(store);
    }
}
