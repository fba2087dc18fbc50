using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Sqlite.Tests;

[TestFixture]
public sealed class SqliteLedgerStoreContractTests : LedgerStoreContractTests
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
        var store = SqliteLedgerStore.Open(_dir.File("contract.db"));
        _stores.Add(store);
        return Task.FromResult<ILedgerStore>(store);
    }
}
