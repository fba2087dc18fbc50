using NUnit.Framework;

namespace UsageGuard.Sqlite.Tests;

/// <summary>A fixture whose every test gets a fresh directory for its database files, deleted afterwards.</summary>
public abstract class FileFixture
{
    private TempDirectory? _directory;

    private protected TempDirectory Dir => _directory ?? throw new InvalidOperationException("Only inside a test.");

    [SetUp]
    public void CreateDirectory() => _directory = new TempDirectory();

    [TearDown]
    public void DeleteDirectory()
    {
        _directory?.Dispose();
        _directory = null;
    }
}
