namespace UsageGuard.Benchmarks;

/// <summary>Paths of benchmark SQLite files, and their deletion with every side file SQLite and the store leave next to them.</summary>
internal static class TempLedgerFile
{
    /// <summary>Gets the directory all benchmark databases live in: <c>$TMPDIR/usageguard-benchmarks</c>.</summary>
    internal static string Directory { get; } = System.IO.Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "usageguard-benchmarks")).FullName;

    /// <summary>Returns the path of a new, not yet existing database file named after <paramref name="purpose"/>.</summary>
    internal static string Create(string purpose) => Path.Combine(Directory, $"{purpose}-{Environment.ProcessId}-{Guid.NewGuid():N}.db");

    /// <summary>Deletes the database and its <c>-wal</c>, <c>-shm</c>, <c>-journal</c>, <c>-head</c> and <c>-index</c> files.</summary>
    internal static void Delete(string path)
    {
        foreach (string suffix in (string[])["", "-wal", "-shm", "-journal", "-head", "-index", "-index-wal", "-index-shm", "-spend", "-spend-wal", "-spend-shm"])
        {
            File.Delete(path + suffix);
        }
    }

    /// <summary>Gets the size of the database and its WAL, in bytes.</summary>
    internal static long Size(string path) => Length(path) + Length(path + "-wal");

    private static long Length(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;
}
