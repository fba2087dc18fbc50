using Microsoft.Data.Sqlite;

namespace UsageGuard.Sqlite.Tests;

/// <summary>Direct access to a ledger file, as another program (or an attacker with a text editor) would have.</summary>
internal static class RawSqlite
{
    public static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public static object? Scalar(string path, string sql)
    {
        using SqliteConnection connection = Open(path);
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public static int Execute(string path, string sql)
    {
        using SqliteConnection connection = Open(path);
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    /// <summary>Flips one bit of the first occurrence of <paramref name="needle"/> in the file.</summary>
    public static void FlipBitOf(string path, ReadOnlySpan<byte> needle)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int at = bytes.AsSpan().IndexOf(needle);
        if (at < 0)
        {
            throw new InvalidOperationException("The bytes to damage are not in the file.");
        }

        bytes[at + (needle.Length / 2)] ^= 0x10;
        File.WriteAllBytes(path, bytes);
    }
}
