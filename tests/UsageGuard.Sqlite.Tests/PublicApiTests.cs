using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Sqlite.Tests;

/// <summary>Every change to the SQLite package's public surface shows in the diff of PublicAPI.approved.txt.</summary>
[TestFixture]
public sealed class PublicApiTests
{
    [Test]
    public void PublicApi_MatchesTheApprovedList()
    {
        string tests = Path.GetFullPath(Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", ".."));
        PublicApi.ShouldMatchApproved(typeof(SqliteLedgerStore).Assembly, Path.Combine(tests, "UsageGuard.Sqlite.Tests", "PublicAPI.approved.txt"));
    }
}
