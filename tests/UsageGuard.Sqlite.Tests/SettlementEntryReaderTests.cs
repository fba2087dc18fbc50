using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Sqlite.Tests;

/// <summary>
/// The SQLite stores' narrow settlement read (SQLite's own API, only the columns events use) gives exactly the events, and the exact
/// export bytes, that reading whole entries gives.
/// </summary>
public sealed class SettlementEntryReaderTests : FileFixture
{
    /// <summary>Hides the store's narrow read, so events come from whole entries: the reference answer.</summary>
    private sealed class EntriesOnly(ILedgerStore inner) : DelegatingLedgerStore(inner);

    private static readonly UsageAuditFilter All = new() { From = DateTimeOffset.MinValue, To = DateTimeOffset.MaxValue };

    private static async Task History(SqliteGuard g, int count)
    {
        // Small blocks, so most settlements are paid by several of them; a free one now and then writes only its record.
        for (int b = 0; b < 200; b++)
        {
            await g.GrantAsync(b % 2 == 0 ? "acme" : "globex", 3m);
        }

        for (int i = 0; i < count; i++)
        {
            var request = new ReservationRequest
            {
                CustomerId = i % 2 == 0 ? "acme" : "globex",
                Amount = 0.5m * (1 + (i % 11)),
                Subject = i % 7 == 0 ? "team \"red\", west" : $"org/team-{i % 3}",
                Feature = i % 4 == 0 ? null : "chat",
                SessionId = i % 3 == 0 ? null : $"s-{i / 3}",
                RequestId = $"req-{i}",
            };
            if (i % 9 == 0)
            {
                ReservationResult held = await g.Gate.ReserveAsync(request);
                if (held.IsAdmitted)
                {
                    await held.Reservation.SettleAsync(0m);
                }
            }
            else
            {
                ConsumeResult r = await g.Gate.ConsumeAsync(request);
                r.Status.Should().BeOneOf(ReservationStatus.Admitted, ReservationStatus.InsufficientCredits);
            }

            g.Time.Advance(TimeSpan.FromMinutes(17));
        }

        await g.Ledger.FlushAsync();
    }

    private static async Task<List<string>> Events(ILedgerStore store)
    {
        var lines = new List<string>();
        await foreach (UsageEvent e in UsageEvents.ReadAsync(store))
        {
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                UsageEventJson.Write(writer, e);
            }

            lines.Add(Encoding.UTF8.GetString(buffer.ToArray()));
        }

        return lines;
    }

    private static async Task<(byte[] Json, byte[] Csv)> Export(ILedgerStore store)
    {
        using var json = new MemoryStream();
        using var csv = new MemoryStream();
        await UsageAuditExport.WriteJsonLinesAsync(store, json, All);
        await UsageAuditExport.WriteCsvAsync(store, csv, All);
        return (json.ToArray(), csv.ToArray());
    }

    [Test]
    public async Task NarrowReads_GiveTheEventsAndExportBytesOfWholeEntries_OnTheStoreAndTheReadOnlyReader()
    {
        string path = Dir.File("events.db");
        await using SqliteGuard g = await SqliteGuard.StartAsync(path, time: new ManualTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero)));
        await History(g, 150);

        List<string> expected = await Events(new EntriesOnly(g.Store));
        expected.Count.Should().BeGreaterThan(100);
        expected.Should().Contain(e => e.Contains("\"blocks\":[{", StringComparison.Ordinal) && e.Contains("},{", StringComparison.Ordinal), "settlements paid by several blocks");
        expected.Should().Contain(e => e.Contains("\"blocks\":[]", StringComparison.Ordinal), "free settlements");
        g.Store.Should().BeAssignableTo<ISettlementEntrySource>();
        (await Events(g.Store)).Should().Equal(expected);
        (byte[] json, byte[] csv) = await Export(new EntriesOnly(g.Store));
        (await Export(g.Store)).Should().BeEquivalentTo((json, csv), o => o.WithStrictOrdering());

        using SqliteLedgerReader reader = SqliteLedgerReader.Open(path);
        (await Events(reader)).Should().Equal(expected);
        (await Export(reader)).Should().BeEquivalentTo((json, csv), o => o.WithStrictOrdering());
        Encoding.UTF8.GetString(csv).Split('\n').Should().HaveCount(expected.Count + 2, "a header, a row per event and the last line end");
    }

    [Test]
    public async Task ADamagedSettlementRecord_IsReportedAsADamagedLedger()
    {
        string path = Dir.File("damaged.db");
        await using (SqliteGuard g = await SqliteGuard.StartAsync(path, time: new ManualTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero))))
        {
            await History(g, 20);
        }

        using (var connection = new SqliteConnection($"Data Source={path};Pooling=false"))
        {
            connection.Open();
            using SqliteCommand damage = connection.CreateCommand();
            damage.CommandText = "UPDATE ug_entries SET settlement = '{\"Scale\":\"six\"}' WHERE seq = (SELECT max(seq) FROM ug_entries WHERE settlement IS NOT NULL);";
            damage.ExecuteNonQuery().Should().Be(1);
        }

        using SqliteLedgerReader reader = SqliteLedgerReader.Open(path);
        Func<Task> read = async () => await UsageEvents.ReadAsync(reader).ToListAsync();
        (await read.Should().ThrowAsync<LedgerCorruptedException>()).Which.Message.Should().Contain("damaged");
        Func<Task> export = () => UsageAuditExport.WriteCsvAsync(reader, Stream.Null, All);
        await export.Should().ThrowAsync<LedgerCorruptedException>();
    }

    [Test]
    public async Task DirectColumnReads_GiveWhatSQLitePCLRawGives_ColumnByColumn()
    {
        string path = Dir.File("columns.db");
        await using (SqliteGuard g = await SqliteGuard.StartAsync(path, time: new ManualTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero))))
        {
            await History(g, 40);
        }

        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=false");
        connection.Open();
        SQLitePCL.raw.sqlite3_prepare_v2(connection.Handle, "SELECT seq, kind, customer_id, block_id, settlement, session_id, hash FROM ug_entries ORDER BY seq;", out SQLitePCL.sqlite3_stmt statement).Should().Be(SQLitePCL.raw.SQLITE_OK);
        using (statement)
        {
            using var direct = new NativeColumns(statement);
            using var provider = new NativeColumns(statement, direct: false);
            direct.IsDirect.Should().BeTrue("the bundled e_sqlite3 is the provider here, so the fast path is the one tested");
            provider.IsDirect.Should().BeFalse();
            int rows = 0;
            int nulls = 0;
            while (SQLitePCL.raw.sqlite3_step(statement) == SQLitePCL.raw.SQLITE_ROW)
            {
                rows++;
                for (int column = 0; column < 7; column++)
                {
                    direct.IsNull(column).Should().Be(provider.IsNull(column));
                    nulls += direct.IsNull(column) ? 1 : 0;
                    direct.Int64(column).Should().Be(provider.Int64(column));
                    direct.Bytes(column).ToArray().Should().Equal(provider.Bytes(column).ToArray());
                }
            }

            rows.Should().BeGreaterThan(40);
            nulls.Should().BeGreaterThan(0, "null columns read as null on both paths");
        }
    }

    [Test]
    public async Task TheUnsharedHandle_IsOpenedOnlyForAPlainFile_AndEveryConnectionStringExportsTheSameBytes()
    {
        string path = Dir.File("handles.db");
        await using (SqliteGuard g = await SqliteGuard.StartAsync(path, time: new ManualTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero))))
        {
            await History(g, 60);
        }

        foreach ((string connectionString, bool unshared) in new[]
        {
            ($"Data Source={path};Mode=ReadOnly", true),
            ($"Data Source={path};Mode=ReadOnly;Cache=Shared", false),
            ($"Data Source=file:{path}?mode=ro;Mode=ReadOnly", false),
        })
        {
            using (var connection = new SqliteConnection(connectionString))
            {
                connection.Open();
                using SQLitePCL.sqlite3? handle = SettlementEntryReader.OpenUnshared(connection);
                (handle is not null).Should().Be(unshared, connectionString);
            }

            SqliteConnection.ClearAllPools();
        }

        (byte[] json, byte[] csv) expected;
        using (SqliteLedgerReader plain = SqliteLedgerReader.Open(path))
        {
            expected = await Export(new EntriesOnly(plain));
            (await Export(plain)).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering(), "the plain file is read through the unshared handle");
        }

        using (SqliteLedgerReader shared = SqliteLedgerReader.Open($"Data Source={path};Cache=Shared"))
        {
            (await Export(shared)).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering(), "a shared cache is read through the connection itself");
        }

        expected.json.Length.Should().BeGreaterThan(10_000);
    }
}
