namespace UsageGuard.Tests.Catalog.Sources;

/// <summary>A directory of its own for one test, deleted with everything in it when disposed.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Path = Directory.CreateTempSubdirectory("usageguard-sources-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
