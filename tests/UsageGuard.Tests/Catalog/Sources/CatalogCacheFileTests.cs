using System.Text;
using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Catalog.Sources;

[TestFixture]
public sealed class CatalogCacheFileTests
{
    [Test]
    public void Parse_TheDocumentedExample_GivesAValidCatalogWithItsETag()
    {
        CatalogCacheEntry entry = CatalogCacheFile.Parse(Encoding.UTF8.GetBytes(DocumentedExample()));

        entry.ETag.Should().Be("\"2026-11-pricing\"");
        entry.SavedAt.Should().Be(new DateTimeOffset(2026, 11, 1, 8, 30, 0, TimeSpan.Zero));
        CatalogCompiler.Compile(entry.Catalog, RemoteDocuments.Scales, version: 1).Revision.Should().Be("2026-11-pricing");
    }

    [TestCase("\"v1\"")]
    [TestCase("W/\"weak\"")]
    [TestCase(null)]
    public void Serialize_ThenParse_GivesTheSameEntry(string? etag)
    {
        var saved = new CatalogCacheEntry(DocumentedCatalog.FromJson(), etag, new DateTimeOffset(2026, 8, 1, 12, 0, 0, TimeSpan.FromHours(2)));

        CatalogCacheEntry read = CatalogCacheFile.Parse(CatalogCacheFile.Serialize(saved));

        read.ETag.Should().Be(etag);
        read.SavedAt.Should().Be(saved.SavedAt);
        RemoteDocuments.Json(read.Catalog).Should().Be(RemoteDocuments.Json(saved.Catalog));
    }

    [Test]
    public void Read_AMissingFileOrDirectory_GivesNull()
    {
        using var dir = new TempDirectory();

        CatalogCacheFile.Read(dir.File("none.json")).Should().BeNull();
        CatalogCacheFile.Read(dir.File(Path.Combine("no-such-directory", "none.json"))).Should().BeNull();
    }

    [Test]
    public async Task WriteAsync_ReplacesTheFileWhole_AndLeavesNoTemporaryFile()
    {
        using var dir = new TempDirectory();
        string path = dir.File(Path.Combine("a", "b", "catalog.json"));
        await CatalogCacheFile.WriteAsync(path, new CatalogCacheEntry(DocumentedCatalog.FromJson(), "\"long-etag-of-the-first-document\"", DateTimeOffset.UnixEpoch), CancellationToken.None);

        await CatalogCacheFile.WriteAsync(path, new CatalogCacheEntry(new CatalogOptions { Revision = "small" }, "\"v2\"", DateTimeOffset.UnixEpoch), CancellationToken.None);

        CatalogCacheEntry read = CatalogCacheFile.Read(path)!;
        read.ETag.Should().Be("\"v2\"");
        read.Catalog.Revision.Should().Be("small");
        read.Catalog.Features.Should().BeEmpty("the smaller document replaced the larger one, leaving nothing of it");
        Directory.GetFiles(Path.GetDirectoryName(path)!).Should().Equal(path);
    }

    private static string DocumentedExample()
    {
        string page = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "catalog-sources.md"));
        int start = page.IndexOf("```json", StringComparison.Ordinal);
        int end = page.IndexOf("```", start + 7, StringComparison.Ordinal);
        start.Should().BeGreaterThanOrEqualTo(0, "docs/catalog-sources.md shows a cache file in a ```json block");
        return page[(start + 7)..end];
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "UsageGuard.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (UsageGuard.sln) was not found above " + AppContext.BaseDirectory);
    }
}
