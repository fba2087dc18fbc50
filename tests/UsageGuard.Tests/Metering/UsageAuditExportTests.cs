using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests.Metering;

/// <summary>The audit export: every event of a range, CSV and JSON Lines, exact, attributed, streamed.</summary>
[TestFixture]
public sealed class UsageAuditExportTests
{
    private static readonly DateTimeOffset T0 = new(2026, 5, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>One settlement a day for 120 days, alternating customers; the subject of day 7 needs CSV quoting.</summary>
    private static async Task<GuardHarness> History()
    {
        GuardHarness h = await GuardHarness.StartAsync(time: new ManualTimeProvider(T0));
        await h.GrantAsync("acme", 10_000m);
        await h.GrantAsync("globex", 10_000m);
        for (int day = 0; day < 120; day++)
        {
            string subject = day == 7 ? "team \"red\", west" : $"user-{day % 5}";
            ConsumeResult r = await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = day % 2 == 0 ? "acme" : "globex", Amount = 1.000001m * (day + 1), Subject = subject, Feature = "chat" });
            r.IsAdmitted.Should().BeTrue();
            h.Time.Advance(TimeSpan.FromDays(1));
        }

        await h.Ledger.FlushAsync();
        return h;
    }

    private static async Task<List<UsageEvent>> Events(ILedgerStore store) => await UsageEvents.ReadAsync(store).ToListAsync();

    [Test]
    public async Task Csv_WritesExactlyTheEventsOfTheRange_OneRowEach_QuotedWhereNeeded_AmountsExact()
    {
        await using GuardHarness h = await History();
        var filter = new UsageAuditFilter { From = T0.AddDays(30), To = T0.AddDays(120) };
        using var output = new MemoryStream();
        var reported = new List<long>();

        long written = await UsageAuditExport.WriteCsvAsync(h.Store, output, filter, new SyncProgress(reported));

        List<UsageEvent> expected = [.. (await Events(h.Store)).Where(e => e.Timestamp >= filter.From && e.Timestamp < filter.To)];
        written.Should().Be(90).And.Be(expected.Count);
        reported.Should().EndWith(90);
        List<string[]> rows = ParseCsv(Encoding.UTF8.GetString(output.ToArray()));
        rows[0].Should().Equal(UsageAuditExport.CsvHeader.Split(','));
        rows.Skip(1).Should().HaveCount(90).And.OnlyContain(r => r.Length == rows[0].Length);
        string[] header = rows[0];
        for (int i = 0; i < expected.Count; i++)
        {
            string[] row = rows[i + 1];
            string Col(string name) => row[Array.IndexOf(header, name)];
            Col("id").Should().Be(expected[i].Id);
            Col("customer_id").Should().Be(expected[i].CustomerId);
            Col("subject").Should().Be(expected[i].Subject);
            Col("consumed").Should().Be(expected[i].Consumed.ToDecimal().ToString(System.Globalization.CultureInfo.InvariantCulture));
            DateTimeOffset.Parse(Col("timestamp"), System.Globalization.CultureInfo.InvariantCulture).Should().Be(expected[i].Timestamp);
            Col("blocks").Should().Be($"{expected[i].Blocks[0].BlockId:D}:{expected[i].Blocks[0].Amount.ToDecimal().ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        }

        decimal total = rows.Skip(1).Sum(r => decimal.Parse(r[Array.IndexOf(header, "consumed")], System.Globalization.CultureInfo.InvariantCulture));
        total.Should().Be(Enumerable.Range(31, 90).Sum(d => 1.000001m * d), "the sum of the rows is the exact sum of what was consumed in the range");
    }

    [Test]
    public async Task JsonLines_OneCustomer_AndAQuotedSubject_RoundTrip()
    {
        await using GuardHarness h = await History();
        var filter = new UsageAuditFilter { From = T0, To = T0.AddDays(20), CustomerId = "globex" };
        using var output = new MemoryStream();

        (await UsageAuditExport.WriteJsonLinesAsync(h.Store, output, filter)).Should().Be(10);

        string[] lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(10);
        lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("customerId").GetString()).Should().OnlyContain(c => c == "globex");
        lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("subject").GetString()).Should().Contain("team \"red\", west");
    }

    [Test]
    public async Task Export_IsStreamed_RowsAreWrittenBeforeTheLedgerIsReadToTheEnd()
    {
        await using GuardHarness h = await History();
        using var output = new MemoryStream();
        var store = new WatchedStore(h.Store, output);

        await UsageAuditExport.WriteCsvAsync(store, output, new UsageAuditFilter { From = T0, To = T0.AddYears(1) });

        store.LengthWhenLastEntryWasRead.Should().BeGreaterThan(0, "rows reached the output while the ledger was still being read");
        await FluentActions.Awaiting(() => UsageAuditExport.WriteCsvAsync(h.Store, output, new UsageAuditFilter { From = T0, To = T0 }))
            .Should().ThrowAsync<ArgumentException>().WithMessage("*must end after it starts*");
    }

    [TestCase("\"")]
    [TestCase("€")]
    [TestCase("\ud83d\ude00")]
    [TestCase("\ud800")]
    [TestCase(",\r\n")]
    public void ACsvRow_FitsTheRoomAskedFor_AtTheLongestEveryFieldCanBe(string character)
    {
        string text = string.Concat(Enumerable.Repeat(character, 4_096 / character.Length));
        UsageEvent e = UsageEventJsonTests.WorstCaseEvent(text);
        var exact = new ExactBufferWriter();

        UsageAuditExport.WriteCsv(exact, e);

        string row = Encoding.UTF8.GetString(exact.Written);
        string[] fields = ParseCsv(row + "\n").Single();
        string[] header = UsageAuditExport.CsvHeader.Split(',');
        fields.Should().HaveCount(header.Length);
        string expected = character == "\ud800" ? new string('\ufffd', 4_096) : text;
        fields[Array.IndexOf(header, "subject")].Should().Be(expected);
        fields[Array.IndexOf(header, "cost_currency")].Should().Be(expected);
        fields[Array.IndexOf(header, "vendor_cost")].Should().Be("-79228162514264337593543950335");
        fields[Array.IndexOf(header, "blocks")].Split(';').Should().HaveCount(64).And.OnlyContain(b => b.EndsWith(":-9.223372036854775808", StringComparison.Ordinal));
    }

    /// <summary>Notes how much the export had written when the last entry was read (a 120-entry ledger read 50 times over).</summary>
    private sealed class WatchedStore(ILedgerStore inner, MemoryStream output) : DelegatingLedgerStore(inner)
    {
        public long LengthWhenLastEntryWasRead { get; private set; }

        public override async IAsyncEnumerable<LedgerEntry> ReadAsync(long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            List<LedgerEntry> all = [];
            await foreach (LedgerEntry e in Inner.ReadAsync(afterSequence, cancellationToken))
            {
                all.Add(e);
            }

            // Fifty passes over the same history, renumbered, so the output outgrows the writer's buffer long before the end.
            long sequence = 0;
            for (int pass = 0; pass < 50; pass++)
            {
                foreach (LedgerEntry e in all)
                {
                    LengthWhenLastEntryWasRead = output.Length;
                    yield return e with { Sequence = ++sequence };
                }
            }
        }
    }

    private sealed class SyncProgress(List<long> reported) : IProgress<long>
    {
        public void Report(long value) => reported.Add(value);
    }

    /// <summary>A small RFC 4180 reader: quoted fields, doubled quotes, <c>\n</c> line ends.</summary>
    private static List<string[]> ParseCsv(string text)
    {
        var rows = new List<string[]>();
        var row = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                row.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\n')
            {
                row.Add(field.ToString());
                field.Clear();
                rows.Add([.. row]);
                row.Clear();
            }
            else
            {
                field.Append(c);
            }
        }

        return rows;
    }
}
