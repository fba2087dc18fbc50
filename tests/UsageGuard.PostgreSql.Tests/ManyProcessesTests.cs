using System.Globalization;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>Application instances as separate processes on one shared schema: the guarantee of docs/scale-out.md across processes.</summary>
[TestFixture]
public sealed class ManyProcessesTests
{
    private string _schema = null!;

    [SetUp]
    public void NewSchema() => _schema = PostgresServer.NewSchema();

    [TearDown]
    public Task DropSchema() => PostgresServer.DropSchemaAsync(_schema);

    /// <summary>Describes every pool and lease, for a failure's message.</summary>
    private static async Task<string> PoolsAsync(string schema)
    {
        await using var source = Npgsql.NpgsqlDataSource.Create(PostgresServer.ConnectionString);
        await using var command = source.CreateCommand($"SELECT p.pool, p.capacity, p.used, p.leased, l.instance, l.amount, l.reported FROM {schema}.ug_pools p LEFT JOIN {schema}.ug_leases l ON l.pool = p.pool ORDER BY p.pool;");
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(string.Create(CultureInfo.InvariantCulture, $"{reader.GetString(0)} capacity={reader.GetInt64(1)} used={reader.GetInt64(2)} leased={reader.GetInt64(3)} lease={(reader.IsDBNull(4) ? "-" : $"{reader.GetString(4)}:{reader.GetInt64(5)}/{reader.GetInt64(6)}")}"));
        }

        return string.Join("; ", rows);
    }

    [Test]
    public async Task FourProcesses_ManyThreads_DrainOneWalletAndOneTeamBudget_ExactlyToZero_AndReturnTheirLeases()
    {
        const int Granted = 400;
        const int TeamBudget = 200;
        await using (ServiceProvider granter = ManyInstancesTests.Instance(_schema))
        {
            // Beta's wallet is far larger than its team's budget: the budget is what runs out.
            await granter.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "beta", Amount = 10_000 });
            await granter.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = Granted });
        }

        var processes = Enumerable.Range(0, 4).Select(_ => InstanceProcess.Start("drain", PostgresServer.ConnectionString, _schema, "8", "30")).ToList();
        try
        {
            long spent = 0;
            long team = 0;
            foreach (InstanceProcess process in processes)
            {
                spent += long.Parse(await process.WaitForAsync("spent", TimeSpan.FromMinutes(3)), CultureInfo.InvariantCulture);
                team += long.Parse(await process.WaitForAsync("team", TimeSpan.FromMinutes(1)), CultureInfo.InvariantCulture);
            }

            spent.Should().Be(Granted, "4 processes × 4 threads spent every credit of the wallet exactly once: none oversold, none stranded");
            team.Should().Be(TeamBudget, "4 processes × 4 threads spent the team's budget exactly: nothing past it, nothing stranded");
            foreach (InstanceProcess process in processes)
            {
                (await process.WaitForExitAsync(TimeSpan.FromMinutes(1))).Should().Be(0, "each process shuts down cleanly");
            }
        }
        finally
        {
            processes.ForEach(p => p.Dispose());
        }

        (await PostgresServer.PoolSumAsync(_schema, "leased")).Should().Be(0, "every process returned its lease when it stopped: " + await PoolsAsync(_schema));
        await using ServiceProvider after = ManyInstancesTests.Instance(_schema);
        after.GetRequiredService<ICreditLedger>().GetBalance("acme").Balance.ToDecimal().Should().Be(0m);
        after.GetRequiredService<ICreditLedger>().GetBalance("beta").Balance.ToDecimal().Should().Be(10_000m - TeamBudget);
        await using var store = new PostgreSqlLedgerStore(new PostgreSqlLedgerStoreOptions { ConnectionString = PostgresServer.ConnectionString, Schema = _schema });
        LedgerVerificationResult verified = await LedgerVerifier.VerifyAsync(store.ReadAsync(0));
        verified.IsValid.Should().BeTrue(verified.Problem);
    }

    [Test]
    public async Task AKilledInstance_ItsLeaseComesBackAfterTheTtl_AndTheRestIsSpentElsewhere()
    {
        await using ServiceProvider survivor = ManyInstancesTests.Instance(_schema, l =>
        {
            l.LeaseTtl = TimeSpan.FromSeconds(2);
            l.SweepGrace = TimeSpan.FromSeconds(1);
            l.RefillInterval = TimeSpan.FromMilliseconds(50);
        });
        await survivor.GetRequiredService<ICreditLedger>().GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 100m });

        long heldByVictim;
        long spentByVictim;
        using (InstanceProcess victim = InstanceProcess.Start("hold", PostgresServer.ConnectionString, _schema, "1", "2"))
        {
            spentByVictim = long.Parse(await victim.WaitForAsync("holding", TimeSpan.FromMinutes(1)), CultureInfo.InvariantCulture);
            heldByVictim = await PostgresServer.PoolSumAsync(_schema, "leased");
            victim.Kill();
        }

        spentByVictim.Should().Be(5);
        heldByVictim.Should().BeGreaterThan(0, "the victim held a lease when it was killed");

        // The survivor spends everything it can; the victim's unspent lease comes back once its TTL and grace have passed.
        var guard = survivor.GetRequiredService<IEntitlementGuard>();
        long spent = 0;
        DateTime deadline = DateTime.UtcNow.AddSeconds(20);
        while (spent + spentByVictim < 100 && DateTime.UtcNow < deadline)
        {
            ConsumeResult r = await guard.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m });
            if (r.IsAdmitted)
            {
                spent++;
            }
            else
            {
                await Task.Delay(50);
            }
        }

        (spent + spentByVictim).Should().Be(100, "what the killed instance leased and did not spend came back after its TTL");
        (await guard.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m })).Status.Should().Be(ReservationStatus.InsufficientCredits, "nothing is oversold");
    }
}
