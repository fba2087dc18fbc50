using System.Globalization;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using UsageGuard.Sqlite;
using UsageGuard.Testing;

namespace UsageGuard.Cli.Tests;

/// <summary>The admin tool, run as a process against a real SQLite ledger file written through the public API.</summary>
[TestFixture]
public sealed class CliTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 8, 9, 0, 0, TimeSpan.Zero);
    private string _dir = null!;
    private string _db = null!;

    [OneTimeSetUp]
    public async Task WriteLedger()
    {
        _dir = Directory.CreateTempSubdirectory("ug-cli-").FullName;
        _db = Path.Combine(_dir, "ledger.db");
        await WriteAsync(services => services.AddUsageGuard(Configure).UseSqlite(_db).UseGovernance(Governance));
    }

    [OneTimeTearDown]
    public void Delete()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    internal static void Configure(UsageGuardOptions o) => o.CreditTypes.Add(new CreditTypeOptions { Code = "credits", Scale = 2 });

    internal static void Governance(GovernanceOptions g)
    {
        var acme = new CustomerGovernanceOptions { CustomerId = "acme" };
        acme.Subjects.Add(new SubjectOptions { Id = "org" });
        acme.Subjects.Add(new SubjectOptions { Id = "eng", Parent = "org" });
        acme.Subjects.Add(new SubjectOptions { Id = "sales", Parent = "org" });
        acme.Subjects.Add(new SubjectOptions { Id = "alice", Parent = "eng" });
        acme.Subjects.Add(new SubjectOptions { Id = "bob", Parent = "eng" });
        acme.Subjects.Add(new SubjectOptions { Id = "carol", Parent = "sales" });
        g.Customers.Add(acme);
    }

    /// <summary>
    /// Acme: eng spends 3 a day for 10 days from the 8th (alice 2, bob 1), sales 1 a day; globex 5 once. 12,000 small settlements of
    /// globex on the 20th make the export long enough to report progress.
    /// </summary>
    internal static async Task WriteAsync(Action<IServiceCollection> use)
    {
        var time = new ManualTimeProvider(T0);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        use(services);
        await using ServiceProvider provider = services.BuildServiceProvider();
        var ledger = provider.GetRequiredService<ICreditLedger>();
        var guard = provider.GetRequiredService<IEntitlementGuard>();
        await ledger.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 1_000m });
        await ledger.GrantAsync(new CreditGrant { CustomerId = "globex", Amount = 10_000m });
        for (int day = 0; day < 10; day++)
        {
            await Consume(guard, "acme", "alice", 2m);
            await Consume(guard, "acme", "bob", 1m);
            await Consume(guard, "acme", "carol", 1m);
            time.Advance(TimeSpan.FromDays(1));
        }

        await Consume(guard, "globex", null, 5m);
        time.Advance(TimeSpan.FromDays(2));
        for (int i = 0; i < 12_000; i++)
        {
            await Consume(guard, "globex", null, 0.01m);
        }

        await ledger.FlushAsync();
    }

    private static async Task Consume(IEntitlementGuard guard, string customer, string? subject, decimal amount) =>
        (await guard.ConsumeAsync(new ReservationRequest { CustomerId = customer, Subject = subject, Amount = amount, Feature = "chat", Model = "gpt-x" })).IsAdmitted.Should().BeTrue();

    [Test]
    public async Task Balances_ShowsEveryWalletsPostedBalance()
    {
        CliProcess.Result r = await CliProcess.RunAsync("balances", "--sqlite", _db);

        r.ExitCode.Should().Be(0, r.Error);
        string[] lines = r.Output.Split('\n');
        lines.Should().Contain(l => l.StartsWith("acme ", StringComparison.Ordinal) && l.Contains(" 960.00 ", StringComparison.Ordinal), "1,000 less 10 days of 4");
        lines.Should().Contain(l => l.StartsWith("globex ", StringComparison.Ordinal) && l.Contains(" 9875.00 ", StringComparison.Ordinal), "10,000 less 5 less 12,000 × 0.01");
    }

    [Test]
    public async Task Tail_ShowsTheNewestEntriesOfACustomer()
    {
        CliProcess.Result r = await CliProcess.RunAsync("tail", "--sqlite", _db, "--customer", "acme", "--count", "3");

        r.ExitCode.Should().Be(0, r.Error);
        string[] rows = [.. r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(2)];
        rows.Should().HaveCount(3).And.OnlyContain(l => l.Contains(" acme ", StringComparison.Ordinal) && l.Contains("Settle", StringComparison.Ordinal));
        rows[^1].Should().Contain("-1.00").And.Contain("960.00").And.Contain("carol");
    }

    [Test]
    public async Task Spend_ByTeam_PrintsABarChartWhoseBarsFollowTheAmounts()
    {
        CliProcess.Result r = await CliProcess.RunAsync("spend", "--sqlite", _db, "--customer", "acme", "--from", "2026-11-08", "--to", "2026-11-15", "--depth", "2");

        r.ExitCode.Should().Be(0, r.Error);
        string eng = r.Output.Split('\n').Single(l => l.TrimStart().StartsWith("org/eng", StringComparison.Ordinal));
        string sales = r.Output.Split('\n').Single(l => l.TrimStart().StartsWith("org/sales", StringComparison.Ordinal));
        eng.Should().Contain("24.00").And.Contain("16 requests", "8 days (the 8th to the 15th) of alice and bob");
        sales.Should().Contain("8.00").And.Contain("8 requests");
        int Bar(string line) => line.Count(c => c == '█');
        Bar(eng).Should().Be(32);
        Bar(sales).Should().Be(11, "a third of the longest bar, rounded");
    }

    [Test]
    public async Task Export_WritesTheRangesEventsToAFile_WithProgressOnTheErrorStream()
    {
        string file = Path.Combine(_dir, "audit.jsonl");
        CliProcess.Result r = await CliProcess.RunAsync("export", "--sqlite", _db, "--from", "2026-11-01", "--to", "2026-11-30", "--customer", "globex", "--format", "jsonl", "--output", file);

        r.ExitCode.Should().Be(0, r.Error);
        string[] lines = File.ReadAllLines(file);
        lines.Should().HaveCount(12_001);
        lines.Sum(l => JsonDocument.Parse(l).RootElement.GetProperty("consumed").GetDecimal()).Should().Be(125m);
        r.Error.Should().MatchRegex(@"… 1[0-2],[0-9]{3} events").And.Contain("Exported 12,001 usage events");
        r.Output.Should().BeEmpty("the events went to the file");
    }

    [Test]
    public async Task Verify_SaysOk_AndFailsWithExitCode1OnATamperedCopy()
    {
        CliProcess.Result ok = await CliProcess.RunAsync("verify", "--sqlite", _db);
        ok.ExitCode.Should().Be(0, ok.Error);
        ok.Output.Should().StartWith("OK: ");

        string copy = Path.Combine(_dir, "tampered.db");
        File.Copy(_db, copy);
        using (var connection = new SqliteConnection($"Data Source={copy};Pooling=false"))
        {
            connection.Open();
            using SqliteCommand tamper = connection.CreateCommand();
            tamper.CommandText = "UPDATE ug_entries SET amount = amount - 100 WHERE seq = 5;";
            tamper.ExecuteNonQuery();
        }

        CliProcess.Result bad = await CliProcess.RunAsync("verify", "--sqlite", copy);
        bad.ExitCode.Should().Be(1);
        bad.Output.Should().StartWith("INVALID at entry 5");
    }

    [Test]
    public async Task Errors_AreClear_AndHaveTheirOwnExitCodes()
    {
        CliProcess.Result missing = await CliProcess.RunAsync("balances", "--sqlite", Path.Combine(_dir, "nope.db"));
        missing.ExitCode.Should().Be(3);
        missing.Error.Should().Contain("There is no SQLite ledger at").And.Contain("nope.db");
        File.Exists(Path.Combine(_dir, "nope.db")).Should().BeFalse("a reader never creates a ledger");

        string notLedger = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(notLedger, "hello");
        CliProcess.Result wrong = await CliProcess.RunAsync("balances", "--sqlite", notLedger);
        wrong.ExitCode.Should().Be(3);
        wrong.Error.Should().Contain("is not a SQLite database");

        CliProcess.Result badConnection = await CliProcess.RunAsync("balances", "--postgres", "Hots=;;=x");
        badConnection.ExitCode.Should().Be(2);
        badConnection.Error.Should().Contain("connection string is not valid");

        CliProcess.Result unreachable = await CliProcess.RunAsync("balances", "--postgres", "Host=127.0.0.1;Port=1;Username=nobody;Timeout=3");
        unreachable.ExitCode.Should().Be(3);
        unreachable.Error.Should().Contain("cannot be reached");

        CliProcess.Result typo = await CliProcess.RunAsync("spend", "--sqlite", _db, "--from", "2026-11-08", "--to", "2026-11-15", "--by", "team");
        typo.ExitCode.Should().Be(2);
        typo.Error.Should().Contain("--by 'team' is not a grouping");

        CliProcess.Result noStore = await CliProcess.RunAsync("verify");
        noStore.ExitCode.Should().Be(2);
        noStore.Error.Should().Contain("--sqlite <file> or --postgres");

        CliProcess.Result help = await CliProcess.RunAsync("help");
        help.ExitCode.Should().Be(0);
        help.Output.Should().Contain("balances").And.Contain("spend");
    }
}
