using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>Every change to the PostgreSQL package's public surface shows in the diff of PublicAPI.approved.txt.</summary>
[TestFixture]
public sealed class PublicApiTests
{
    [Test]
    public void PublicApi_MatchesTheApprovedList()
    {
        string tests = Path.GetFullPath(Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", ".."));
        PublicApi.ShouldMatchApproved(typeof(PostgreSqlLedgerStore).Assembly, Path.Combine(tests, "UsageGuard.PostgreSql.Tests", "PublicAPI.approved.txt"));
    }
}
