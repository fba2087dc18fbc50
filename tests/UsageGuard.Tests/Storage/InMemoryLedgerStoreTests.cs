using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests.Storage;

[TestFixture]
public sealed class InMemoryLedgerStoreTests : LedgerStoreContractTests
{
    protected override Task<ILedgerStore> CreateStoreAsync() => Task.FromResult<ILedgerStore>(new InMemoryLedgerStore());
}
