using System.Globalization;
using Npgsql;
using UsageGuard.PostgreSql;
using UsageGuard.Sqlite;

namespace UsageGuard.Cli;

/// <summary>The admin commands: balances, tail, verify, export and spend, against a SQLite file or a PostgreSQL schema, read-only.</summary>
internal static class AdminCommands
{
    /// <summary>Exit code of a run that did what was asked.</summary>
    internal const int Ok = 0;

    /// <summary>Exit code of a verification that found a bad entry.</summary>
    internal const int Invalid = 1;

    /// <summary>Exit code of a command line that cannot run as written.</summary>
    internal const int Usage = 2;

    /// <summary>Exit code of a ledger that cannot be opened or read.</summary>
    internal const int StoreError = 3;

    internal const string Help = """
        usageguard: inspect a UsageGuard ledger (read-only).

        usageguard <command> (--sqlite <file> | --postgres <connection string> [--schema <name>]) [options]

        Commands:
          balances   posted balance of every wallet        [--customer <id>]
          tail       the newest ledger entries              [--customer <id>] [--count <n>, default 20]
          verify     check the hash chain and every balance (exit code 1 when a bad entry is found)
          export     the audit export of usage events      --from <yyyy-MM-dd> --to <yyyy-MM-dd> [--customer <id>]
                                                           [--format csv|jsonl, default csv] [--output <file>, default stdout]
          spend      spend report with a bar chart         --from <yyyy-MM-dd> --to <yyyy-MM-dd> [--customer <id>]
                                                           [--by subject|model|feature|day|customer (comma-separated), default subject]
                                                           [--depth <n>: subject nodes at that depth, e.g. 2 for teams]
          help       this text

        Days are UTC; --to is the last day included. Exit codes: 0 done, 1 verification failed, 2 bad command line, 3 ledger error.
        """;

    internal static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        try
        {
            CommandLine line = CommandLine.Parse(args);
            if (line.Command == "help" || line.Optional("help") is not null)
            {
                await output.WriteLineAsync(Help).ConfigureAwait(false);
                return Ok;
            }

            Func<ILedgerStore, CommandLine, TextWriter, TextWriter, CancellationToken, Task<int>> command = line.Command switch
            {
                "balances" => BalancesAsync,
                "tail" => TailAsync,
                "verify" => VerifyAsync,
                "export" => ExportAsync,
                "spend" => SpendAsync,
                _ => throw new UsageException($"Unknown command '{line.Command}'. Commands: balances, tail, verify, export, spend, help."),
            };

            ILedgerStore store = await OpenAsync(line, cancellationToken).ConfigureAwait(false);
            try
            {
                return await command(store, line, output, error, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await CloseAsync(store).ConfigureAwait(false);
            }
        }
        catch (UsageException ex)
        {
            await error.WriteLineAsync($"usageguard: {ex.Message}").ConfigureAwait(false);
            return Usage;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("usageguard: cancelled.").ConfigureAwait(false);
            return StoreError;
        }
        catch (Exception ex) when (ex is UsageGuardException or NpgsqlException or Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"usageguard: {ex.Message}").ConfigureAwait(false);
            return StoreError;
        }
    }

    private static async Task<ILedgerStore> OpenAsync(CommandLine line, CancellationToken cancellationToken)
    {
        string? sqlite = line.Optional("sqlite");
        string? postgres = line.Optional("postgres");
        string? schema = line.Optional("schema");
        if ((sqlite is null) == (postgres is null))
        {
            throw new UsageException("Name the ledger with --sqlite <file> or --postgres <connection string> (one of them).");
        }

        if (sqlite is not null)
        {
            if (schema is not null)
            {
                throw new UsageException("--schema goes with --postgres; a SQLite ledger is one file.");
            }

            return SqliteLedgerReader.Open(sqlite);
        }

        PostgreSqlLedgerStoreOptions options;
        try
        {
            options = new PostgreSqlLedgerStoreOptions { ConnectionString = new NpgsqlConnectionStringBuilder(postgres).ConnectionString, Schema = schema ?? "usageguard", ReadOnly = true };
        }
        catch (ArgumentException ex)
        {
            throw new UsageException($"The PostgreSQL connection string is not valid ({ex.Message}). Write it as Host=...;Port=5432;Username=...;Password=...;Database=....");
        }

        try
        {
            return await PostgreSqlLedgerStore.CreateAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.Message);
        }
        catch (NpgsqlException ex)
        {
            throw new LedgerUnavailableException($"PostgreSQL refused the connection ({ex.Message}). Check the host, port, user, password and database of the connection string.", ex);
        }
    }

    private static async Task CloseAsync(ILedgerStore store)
    {
        switch (store)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    private static async Task<int> BalancesAsync(ILedgerStore store, CommandLine line, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        string? customer = line.Optional("customer");
        line.RejectUnknown();
        var wallets = new SortedDictionary<(string Customer, string CreditType), (CreditAmount Balance, long Entries, DateTimeOffset Last)>();
        await foreach (LedgerEntry e in store.ReadAsync(0, cancellationToken).ConfigureAwait(false))
        {
            if (customer is null || e.CustomerId == customer)
            {
                (string, string) key = (e.CustomerId, e.CreditType);
                long entries = wallets.TryGetValue(key, out var seen) ? seen.Entries : 0;
                wallets[key] = (e.BalanceAfter, entries + 1, e.Timestamp);
            }
        }

        if (wallets.Count == 0)
        {
            await output.WriteLineAsync(customer is null ? "The ledger has no entries." : $"The ledger has no entries for customer '{customer}'.").ConfigureAwait(false);
            return Ok;
        }

        var table = new TextTable("customer", "credit type", "balance", "entries", "last entry (UTC)");
        foreach (((string c, string type), (CreditAmount balance, long entries, DateTimeOffset last)) in wallets)
        {
            table.Add(c, type, Amount(balance), entries.ToString("N0", CultureInfo.InvariantCulture), Instant(last));
        }

        await output.WriteAsync(table.ToString()).ConfigureAwait(false);
        await output.WriteLineAsync("Posted balances (granted less used, expired and voided, less debt), as of each wallet's last entry.").ConfigureAwait(false);
        return Ok;
    }

    private static async Task<int> TailAsync(ILedgerStore store, CommandLine line, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        string? customer = line.Optional("customer");
        int count = line.Number("count", 20, 1, 100_000);
        line.RejectUnknown();
        var newest = new Queue<LedgerEntry>(count);
        await foreach (LedgerEntry e in store.ReadAsync(0, cancellationToken).ConfigureAwait(false))
        {
            if (customer is null || e.CustomerId == customer)
            {
                if (newest.Count == count)
                {
                    newest.Dequeue();
                }

                newest.Enqueue(e);
            }
        }

        var table = new TextTable("seq", "time (UTC)", "kind", "customer", "type", "amount", "balance", "subject", "feature", "model");
        foreach (LedgerEntry e in newest)
        {
            table.Add(e.Sequence.ToString(CultureInfo.InvariantCulture), Instant(e.Timestamp), e.Kind.ToString(), e.CustomerId, e.CreditType, Amount(e.Amount), Amount(e.BalanceAfter), e.Subject ?? "", e.Feature ?? "", e.Model ?? "");
        }

        await output.WriteAsync(newest.Count == 0 ? "No entries.\n" : table.ToString()).ConfigureAwait(false);
        return Ok;
    }

    private static async Task<int> VerifyAsync(ILedgerStore store, CommandLine line, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        line.RejectUnknown();
        LedgerVerificationResult result = await LedgerVerifier.VerifyAsync(store.ReadAsync(0, cancellationToken), null, cancellationToken).ConfigureAwait(false);
        if (result.IsValid)
        {
            await output.WriteLineAsync($"OK: {result.EntriesChecked.ToString("N0", CultureInfo.InvariantCulture)} entries verified; the chain ends at {result.LastHash}.").ConfigureAwait(false);
            return Ok;
        }

        await output.WriteLineAsync($"INVALID at entry {result.FirstBadSequence}: {result.Problem} ({result.EntriesChecked.ToString("N0", CultureInfo.InvariantCulture)} entries checked).").ConfigureAwait(false);
        return Invalid;
    }

    private static async Task<int> ExportAsync(ILedgerStore store, CommandLine line, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        (DateOnly from, DateOnly to) = Range(line);
        string? customer = line.Optional("customer");
        string format = line.Optional("format") ?? "csv";
        string? path = line.Optional("output");
        line.RejectUnknown();
        if (format is not ("csv" or "jsonl"))
        {
            throw new UsageException($"--format '{format}' is not a format: csv or jsonl.");
        }

        var filter = new UsageAuditFilter { From = Start(from), To = Start(to), CustomerId = customer };
        var progress = new LineProgress(error);
        var started = System.Diagnostics.Stopwatch.StartNew();
        long written;
        Stream target = path is null ? Console.OpenStandardOutput() : new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
        await using (target.ConfigureAwait(false))
        {
            written = format == "csv"
                ? await UsageAuditExport.WriteCsvAsync(store, target, filter, progress, cancellationToken).ConfigureAwait(false)
                : await UsageAuditExport.WriteJsonLinesAsync(store, target, filter, progress, cancellationToken).ConfigureAwait(false);
        }

        await error.WriteLineAsync($"Exported {written.ToString("N0", CultureInfo.InvariantCulture)} usage events ({from:yyyy-MM-dd} to {to.AddDays(-1):yyyy-MM-dd}{(customer is null ? "" : ", customer " + customer)}) as {format}{(path is null ? "" : " to " + path)} in {started.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s.").ConfigureAwait(false);
        return Ok;
    }

    private static async Task<int> SpendAsync(ILedgerStore store, CommandLine line, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        (DateOnly from, DateOnly to) = Range(line);
        string? customer = line.Optional("customer");
        SpendGrouping by = SpendGrouping.None;
        foreach (string part in (line.Optional("by") ?? "subject").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            by |= part switch
            {
                "subject" => SpendGrouping.Subject,
                "model" => SpendGrouping.Model,
                "feature" => SpendGrouping.Feature,
                "day" => SpendGrouping.Day,
                "customer" => SpendGrouping.Customer,
                _ => throw new UsageException($"--by '{part}' is not a grouping: subject, model, feature, day or customer."),
            };
        }

        int? depth = line.Optional("depth") is null ? null : line.Number("depth", 0, 1, 64);
        line.RejectUnknown();
        IReadOnlyList<SpendRow> rows = await SpendReports.QueryAsync(store, new SpendQuery { From = from, To = to, CustomerId = customer, GroupBy = by, SubjectDepth = depth }, cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync($"Spend from {from:yyyy-MM-dd} to {to.AddDays(-1):yyyy-MM-dd} (UTC){(customer is null ? ", every customer" : ", customer " + customer)}, by {(by == SpendGrouping.None ? "credit type" : by.ToString().ToLowerInvariant())}{(depth is null ? "" : $", subject depth {depth}")}.").ConfigureAwait(false);
        if (rows.Count == 0)
        {
            await output.WriteLineAsync("No settlements in that range.").ConfigureAwait(false);
            return Ok;
        }

        await output.WriteAsync(BarChart.Render(rows, by)).ConfigureAwait(false);
        return Ok;
    }

    private static (DateOnly From, DateOnly To) Range(CommandLine line)
    {
        DateOnly from = line.Date("from", "the first day, yyyy-MM-dd");
        DateOnly last = line.Date("to", "the last day included, yyyy-MM-dd");
        if (last < from)
        {
            throw new UsageException($"--to {last:yyyy-MM-dd} is before --from {from:yyyy-MM-dd}.");
        }

        return (from, last.AddDays(1));
    }

    private static DateTimeOffset Start(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    internal static string Amount(CreditAmount amount) => amount.ToDecimal().ToString(CultureInfo.InvariantCulture);

    private static string Instant(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>Progress of a long export on the error stream, a line each time another 10,000 events were written, so the output file or pipe stays clean.</summary>
    private sealed class LineProgress(TextWriter error) : IProgress<long>
    {
        private long _next = 10_000;

        public void Report(long value)
        {
            if (value >= _next)
            {
                _next = (value / 10_000 + 1) * 10_000;
                error.WriteLine($"  … {value.ToString("N0", CultureInfo.InvariantCulture)} events");
            }
        }
    }
}
