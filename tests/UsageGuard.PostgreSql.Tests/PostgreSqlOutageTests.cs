using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NUnit.Framework;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>PostgreSQL unreachable mid-run: the guard fails closed, keeps every acknowledged settlement, and the ledger is whole afterwards.</summary>
[TestFixture]
public sealed class PostgreSqlOutageTests
{
    private string _schema = null!;

    [SetUp]
    public void NewSchema() => _schema = PostgresServer.NewSchema();

    [TearDown]
    public Task DropSchema() => PostgresServer.DropSchemaAsync(_schema);

    private ServiceProvider Services(string connectionString)
    {
        var services = new ServiceCollection();
        services.AddUsageGuard(o => o.ReservationSweepInterval = TimeSpan.Zero).UsePostgreSql(o =>
        {
            o.ConnectionString = connectionString;
            o.Schema = _schema;
        });
        return services.BuildServiceProvider();
    }

    [TestCase(1)]
    [TestCase(30)]
    public async Task ServerUnreachableForSeconds_FailsClosed_AndLosesNoAcknowledgedSettlement(int seconds)
    {
        var direct = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString);
        await using var proxy = new CuttableProxy(direct.Host!, direct.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 2, CommandTimeout = 5 };
        long acknowledged = 0;
        long refusedWhileDown = 0;
        await using (ServiceProvider services = Services(viaProxy.ConnectionString))
        {
            var ledger = services.GetRequiredService<ICreditLedger>();
            var guard = services.GetRequiredService<IEntitlementGuard>();
            await ledger.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 1_000_000m });
            using var running = new CancellationTokenSource();
            var pending = new List<Task>();
            Task[] clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                while (!running.IsCancellationRequested)
                {
                    ReservationResult r = await guard.ReserveAsync(new ReservationRequest { CustomerId = "acme", Amount = 1m });
                    if (!r.IsAdmitted)
                    {
                        r.Status.Should().Be(ReservationStatus.StoreUnavailable);
                        Interlocked.Increment(ref refusedWhileDown);
                        await Task.Delay(20);
                        continue;
                    }

                    Task settle = r.Reservation.SettleAsync(1m).AsTask().ContinueWith(t => { if (t.IsCompletedSuccessfully) { Interlocked.Increment(ref acknowledged); } }, TaskScheduler.Default);
                    lock (pending)
                    {
                        pending.Add(settle);
                    }

                    await Task.Delay(2);
                }
            })).ToArray();

            await Task.Delay(500);
            proxy.Cut();
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            proxy.Restore();
            await Task.Delay(1_500);
            await running.CancelAsync();
            await Task.WhenAll(clients);
            Task[] all;
            lock (pending)
            {
                all = [.. pending];
            }

            await Task.WhenAll(all).WaitAsync(TimeSpan.FromSeconds(60));
            guard.Health.IsHealthy.Should().BeTrue("the store came back and the writer caught up");
        }

        Interlocked.Read(ref refusedWhileDown).Should().BeGreaterThan(0, "while the store is down the guard fails closed");
        Interlocked.Read(ref acknowledged).Should().BeGreaterThan(0);

        // Started again straight on the server: every acknowledged settlement is there, once, and the chain verifies.
        await using ServiceProvider again = Services(PostgresServer.ConnectionString);
        var restarted = again.GetRequiredService<ICreditLedger>();
        restarted.GetBalance("acme").Balance.ToDecimal().Should().Be(1_000_000m - acknowledged);
        long settles = (long)(await PostgresServer.ScalarAsync($"SELECT count(*) FROM {_schema}.ug_entries WHERE kind = {(int)LedgerEntryKind.Settle};"))!;
        settles.Should().Be(acknowledged);
        LedgerVerificationResult verified = await restarted.VerifyAsync();
        verified.IsValid.Should().BeTrue(verified.Problem);
    }
}
