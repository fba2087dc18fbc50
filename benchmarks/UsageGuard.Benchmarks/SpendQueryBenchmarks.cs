using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;
using UsageGuard.Sqlite;

namespace UsageGuard.Benchmarks;

/// <summary>
/// Spend queries over a SQLite ledger of 10,000,000 settlements (<see cref="MeteringLedgerFile"/>), answered from the daily rollup,
/// against the peer most teams start with: one SQL <c>GROUP BY</c> over the ledger's rows (the same answer: the Settle entries'
/// amounts by subject, folded into teams). The rollup is caught up before the run; a query with nothing new to roll up is what is measured.
/// </summary>
[MemoryDiagnoser]
[WarmupCount(1)]
[IterationCount(5)]
public class SpendQueryBenchmarks
{
    private const long Events = 10_000_000;
    private SqliteLedgerReader _reader = null!;
    private SqliteConnection _raw = null!;
    private SpendQuery _teamWeek = null!;
    private SpendQuery _customerQuarter = null!;
    private SpendQuery _marginQuarter = null!;
    private long _fromTicks;
    private long _toTicks;

    [GlobalSetup]
    public void Setup()
    {
        string path = MeteringLedgerFile.Ensure(Events);
        _reader = SqliteLedgerReader.Open(path);
        _raw = new SqliteConnection($"Data Source={path};Mode=ReadOnly");
        _raw.Open();
        var first = DateOnly.FromDateTime(MeteringLedgerFile.Start.UtcDateTime);
        _teamWeek = new SpendQuery { From = first.AddDays(7), To = first.AddDays(15), CustomerId = "customer-042", GroupBy = SpendGrouping.Subject, SubjectDepth = 2 };
        _customerQuarter = new SpendQuery { From = first, To = first.AddDays(MeteringLedgerFile.Days), CustomerId = "customer-042", GroupBy = SpendGrouping.Model | SpendGrouping.Feature | SpendGrouping.Day };
        _marginQuarter = new SpendQuery { From = first, To = first.AddDays(MeteringLedgerFile.Days), GroupBy = SpendGrouping.Customer };
        _fromTicks = MeteringLedgerFile.Start.AddDays(7).UtcTicks;
        _toTicks = MeteringLedgerFile.Start.AddDays(15).UtcTicks;
        _reader.QuerySpendAsync(_teamWeek).AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _raw.Dispose();
        _reader.Dispose();
    }

    [Benchmark(Baseline = true, Description = "peer: SQL GROUP BY over the ledger rows, one customer's teams, 8 days")]
    public long RawTeamWeek()
    {
        // What a team writes first: sum the Settle entries' amounts by subject over the range, then fold the subjects into teams.
        using SqliteCommand command = _raw.CreateCommand();
        command.CommandText = $"""
            SELECT subject, SUM(-amount), COUNT(*)
            FROM ug_entries WHERE customer_id = 'customer-042' AND ts >= $from AND ts < $to AND kind = {(int)LedgerEntryKind.Settle} GROUP BY subject;
            """;
        command.Parameters.AddWithValue("$from", _fromTicks);
        command.Parameters.AddWithValue("$to", _toTicks);
        var teams = new Dictionary<string, long>(StringComparer.Ordinal);
        long rows = 0;
        using SqliteDataReader r = command.ExecuteReader();
        while (r.Read())
        {
            string subject = r.GetString(0);
            string team = subject[..subject.LastIndexOf('-')];
            teams[team] = teams.GetValueOrDefault(team) + r.GetInt64(1);
            rows += r.GetInt64(2);
        }

        return rows + teams.Count;
    }

    [Benchmark(Description = "UsageGuard: one customer's teams, 8 days (rollup)")]
    public int TeamWeek() => _reader.QuerySpendAsync(_teamWeek).AsTask().GetAwaiter().GetResult().Count;

    [Benchmark(Description = "UsageGuard: one customer by model, feature and day, 90 days (rollup)")]
    public int CustomerQuarter() => _reader.QuerySpendAsync(_customerQuarter).AsTask().GetAwaiter().GetResult().Count;

    [Benchmark(Description = "UsageGuard: margin per customer, every customer, 90 days (rollup)")]
    public int MarginQuarter() => _reader.QuerySpendAsync(_marginQuarter).AsTask().GetAwaiter().GetResult().Count;
}
