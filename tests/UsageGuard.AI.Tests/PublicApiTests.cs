using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.AI.Tests;

/// <summary>Every change to the AI package's public surface shows in the diff of PublicAPI.approved.txt.</summary>
[TestFixture]
public sealed class PublicApiTests
{
    [Test]
    public void PublicApi_MatchesTheApprovedList()
    {
        string tests = Path.GetFullPath(Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", ".."));
        PublicApi.ShouldMatchApproved(typeof(UsageGuardChatClient).Assembly, Path.Combine(tests, "UsageGuard.AI.Tests", "PublicAPI.approved.txt"));
    }
}
