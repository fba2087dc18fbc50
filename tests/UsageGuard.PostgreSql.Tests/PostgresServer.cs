using Npgsql;
using NUnit.Framework;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>
/// The PostgreSQL server the tests use: <c>USAGEGUARD_POSTGRES</c> names it (an Npgsql connection string). <c>.ci/run</c> installs and
/// starts one on 127.0.0.1 and sets it, so in CI these tests always run; on a machine without it they are ignored, and fail if CI is set.
/// </summary>
internal static class PostgresServer
{
    internal const string Variable = "USAGEGUARD_POSTGRES";

    /// <summary>Gets the connection string, or ignores (fails, in CI) the calling test when no server is configured.</summary>
    internal static string ConnectionString
    {
        get
        {
            string? configured = Environment.GetEnvironmentVariable(Variable);
            if (!string.IsNullOrWhiteSpace(configured))
            {
                return configured;
            }

            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
            {
                Assert.Fail($"{Variable} is not set: CI must start PostgreSQL and set it (see .ci/run). These tests never skip in CI.");
            }

            Assert.Ignore($"No PostgreSQL server: set {Variable} (an Npgsql connection string) to run these tests.");
            return null!;
        }
    }

    /// <summary>A schema of its own for one test, dropped with everything in it afterwards.</summary>
    internal static string NewSchema() => "ug_test_" + Guid.NewGuid().ToString("N")[..16];

    internal static async Task DropSchemaAsync(string schema)
    {
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        await using NpgsqlCommand command = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE;");
        await command.ExecuteNonQueryAsync();
    }

    internal static async Task<object?> ScalarAsync(string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        await using NpgsqlCommand command = dataSource.CreateCommand(sql);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>Sums a column of the schema's pools (<c>leased</c>, <c>used</c>), over the pools whose name starts with <paramref name="poolPrefix"/>.</summary>
    internal static async Task<long> PoolSumAsync(string schema, string column, string poolPrefix = "") =>
        Convert.ToInt64(await ScalarAsync($"SELECT coalesce(sum({column}), 0) FROM {schema}.ug_pools WHERE pool LIKE '{poolPrefix}%';"), System.Globalization.CultureInfo.InvariantCulture);
}
