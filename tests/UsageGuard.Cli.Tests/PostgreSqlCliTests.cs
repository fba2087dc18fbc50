using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NUnit.Framework;
using UsageGuard.PostgreSql;

namespace UsageGuard.Cli.Tests;

/// <summary>The admin tool against a PostgreSQL ledger (<c>USAGEGUARD_POSTGRES</c>; CI starts a server, and these tests never skip there).</summary>
[TestFixture]
public sealed class PostgreSqlCliTests
{
    private string _connection = null!;
    private string _schema = null!;

    [OneTimeSetUp]
    public async Task WriteLedger()
    {
        string? configured = Environment.GetEnvironmentVariable("USAGEGUARD_POSTGRES");
        if (string.IsNullOrWhiteSpace(configured))
        {
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
            {
                Assert.Fail("USAGEGUARD_POSTGRES is not set: CI must start PostgreSQL and set it (see .ci/run).");
            }

            Assert.Ignore("No PostgreSQL server: set USAGEGUARD_POSTGRES to run these tests.");
        }

        _connection = configured!;
        _schema = "ug_cli_" + Guid.NewGuid().ToString("N")[..12];
        await CliTests.WriteAsync(services => services.AddUsageGuard(CliTests.Configure).UsePostgreSql(o =>
        {
            o.ConnectionString = _connection;
            o.Schema = _schema;
        }).UseGovernance(CliTests.Governance));
    }

    [OneTimeTearDown]
    public async Task DropSchema()
    {
        if (_schema is null)
        {
            return;
        }

        await using var dataSource = NpgsqlDataSource.Create(_connection);
        await using NpgsqlCommand drop = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE;");
        await drop.ExecuteNonQueryAsync();
    }

    [Test]
    public async Task BalancesSpendAndVerify_ReadThePostgreSqlLedger()
    {
        CliProcess.Result balances = await CliProcess.RunAsync("balances", "--postgres", _connection, "--schema", _schema);
        balances.ExitCode.Should().Be(0, balances.Error);
        balances.Output.Should().Contain("960.00").And.Contain("9875.00");

        CliProcess.Result spend = await CliProcess.RunAsync("spend", "--postgres", _connection, "--schema", _schema, "--customer", "acme", "--from", "2026-11-08", "--to", "2026-11-15", "--depth", "2");
        spend.ExitCode.Should().Be(0, spend.Error);
        spend.Output.Split('\n').Single(l => l.TrimStart().StartsWith("org/eng", StringComparison.Ordinal)).Should().Contain("24.00");

        CliProcess.Result verify = await CliProcess.RunAsync("verify", "--postgres", _connection, "--schema", _schema);
        verify.ExitCode.Should().Be(0, verify.Error);
        verify.Output.Should().StartWith("OK: ");
    }

    [Test]
    public async Task AWrongSchema_IsNamed_AndNothingIsCreated()
    {
        string missing = "ug_cli_missing_" + Guid.NewGuid().ToString("N")[..8];
        CliProcess.Result r = await CliProcess.RunAsync("balances", "--postgres", _connection, "--schema", missing);

        r.ExitCode.Should().Be(3);
        r.Error.Should().Contain($"There is no UsageGuard ledger in schema '{missing}'");
        await using var dataSource = NpgsqlDataSource.Create(_connection);
        await using NpgsqlCommand exists = dataSource.CreateCommand($"SELECT count(*) FROM information_schema.schemata WHERE schema_name = '{missing}';");
        ((long)(await exists.ExecuteScalarAsync())!).Should().Be(0, "a read-only open never creates a schema");
    }
}
