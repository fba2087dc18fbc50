using FluentAssertions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests;

/// <summary>Every change to the public surface shows in the diff of PublicAPI.approved.txt, and src never reads the wall clock directly.</summary>
[TestFixture]
public sealed class PublicApiTests
{
    private static readonly string TestsDirectory = Path.GetFullPath(Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", ".."));

    [Test]
    public void PublicApi_MatchesTheApprovedList()
    {
        PublicApi.ShouldMatchApproved(typeof(IEntitlementGuard).Assembly, Path.Combine(TestsDirectory, "UsageGuard.Tests", "PublicAPI.approved.txt"));
    }

    [Test]
    public void Source_NeverReadsTheWallClockDirectly()
    {
        string src = Path.GetFullPath(Path.Combine(TestsDirectory, "..", "src"));
        string[] banned = ["DateTime.UtcNow", "DateTime.Now", "DateTimeOffset.UtcNow", "DateTimeOffset.Now", "Stopwatch.GetTimestamp", "Environment.TickCount"];
        var offenders = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, i, line)))
            .Where(x => banned.Any(b => x.line.Contains(b, StringComparison.Ordinal)))
            .Select(x => $"{Path.GetRelativePath(src, x.f)}:{x.i + 1}: {x.line.Trim()}")
            .ToList();

        offenders.Should().BeEmpty("time comes from TimeProvider so tests control it");
    }
}
