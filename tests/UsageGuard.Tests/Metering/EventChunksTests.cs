using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Metering;

/// <summary>
/// The parallel event read (<see cref="EventChunks"/>) gives exactly the events of a sequential read, blocks included, whatever the
/// chunk and look-back sizes; and the byte-level settlement decoder (<see cref="SettlementJson"/>) agrees with the serializer.
/// </summary>
[TestFixture]
public sealed class EventChunksTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    public async Task ChunkedReads_GiveTheSequentialEvents_WithTheirBlocks_ForEveryChunkAndLookback(int seed)
    {
        List<LedgerEntry> ledger = RandomLedger(new Random(seed), settlements: 300);
        var source = new ListSource(ledger);
        List<UsageEvent> expected = await UsageEvents.FromEntries(ledger.ToAsyncEnumerable()).ToListAsync();
        expected.Should().HaveCountGreaterThan(200);
        expected.Should().Contain(e => e.Blocks.Count >= 3, "settlements paid by several blocks cross chunk edges");
        long last = ledger[^1].Sequence;

        foreach ((long chunk, long lookback) in new[] { (1L, 1L), (2L, 1L), (3L, 2L), (7L, 1L), (16L, 4L), (64L, 256L), (100_000L, 1L) })
        {
            foreach (int parallelism in new[] { 1, 2, 4 })
            {
                var chunks = new List<List<UsageEvent>>();
                await foreach (List<UsageEvent> part in EventChunks.ReadAsync(source, 0, last, () => new List<UsageEvent>(), (l, e) => l.Add(e), parallelism, chunk, lookback))
                {
                    chunks.Add(part);
                }

                List<UsageEvent> actual = [.. chunks.SelectMany(c => c)];
                actual.Select(Describe).Should().Equal(expected.Select(Describe), $"chunk {chunk}, look-back {lookback}, parallelism {parallelism}");
            }
        }
    }

    [Test]
    public async Task ChunkedReads_StartAfterASequence_AndStopAtTheLastOneAsked()
    {
        List<LedgerEntry> ledger = RandomLedger(new Random(9), settlements: 100);
        var source = new ListSource(ledger);
        long after = ledger[ledger.Count / 3].Sequence;
        long through = ledger[2 * ledger.Count / 3].Sequence;
        List<UsageEvent> all = await UsageEvents.FromEntries(ledger.Where(e => e.Sequence > after).ToAsyncEnumerable()).ToListAsync();

        var actual = new List<UsageEvent>();
        await foreach (List<UsageEvent> part in EventChunks.ReadAsync(source, after, through, () => new List<UsageEvent>(), (l, e) => l.Add(e), 2, chunk: 5, lookback: 1))
        {
            actual.AddRange(part);
        }

        actual.Select(Describe).Should().Equal(all.Where(e => e.Sequence <= through).Select(Describe));
    }

    [Test]
    public async Task AFailingChunk_FailsTheRead_AndTheOtherChunksAreCancelledAndAwaited()
    {
        List<LedgerEntry> ledger = RandomLedger(new Random(5), settlements: 200);
        var source = new ListSource(ledger) { FailAfter = ledger[ledger.Count / 2].Sequence };

        Func<Task> read = async () =>
        {
            await foreach (List<UsageEvent> part in EventChunks.ReadAsync(source, 0, ledger[^1].Sequence, () => new List<UsageEvent>(), (l, e) => l.Add(e), 2, chunk: 10))
            {
                part.Should().NotBeNull();
            }
        };

        await read.Should().ThrowAsync<LedgerUnavailableException>();
        source.Open.Should().Be(0, "every chunk's read was closed");
    }

    [Test]
    public void SettlementJson_ReadsWhatTheSerializerReads_ForEveryShapeOfRecord()
    {
        var random = new Random(3);
        var strings = new Utf8Strings();
        for (int i = 0; i < 500; i++)
        {
            SettlementRecord record = RandomRecord(random, i);
            string json = StoreCodec.EncodeSettlement(record);
            SettlementRecord decoded = SettlementJson.Decode(Encoding.UTF8.GetBytes(json), strings);
            decoded.Should().Be(StoreCodec.DecodeSettlement(json), json);
            decoded.Should().Be(record, json);
        }

        // Valid JSON the writer never produces: reordered, unknown names, escapes; the same answer as the serializer's.
        string[] unusual =
        [
            """{"Scale":2,"Charged":150,"Unknown":{"a":[1,2]},"AdmittedAt":"2026-06-01T00:00:00+02:00","SubjectPath":"org\/a\u00e9","Tokens":null,"Price":1.50}""",
            """{"\u0053cale":3,"Charged":1,"AdmittedAt":"2026-06-01T00:00:00Z"}""",
            """{"Charged":5,"Charged":7,"Scale":0,"AdmittedAt":"2026-06-01T00:00:00Z","Estimated":true,"CostCurrency":"EUR","VendorCost":null}""",
        ];
        foreach (string json in unusual)
        {
            SettlementJson.Decode(Encoding.UTF8.GetBytes(json), strings).Should().Be(StoreCodec.DecodeSettlement(json), json);
        }
    }

    [TestCase("""{"Scale":2,"Charged":"150"}""")]
    [TestCase("""{"Scale":2,"Tokens":[1,2,3]}""")]
    [TestCase("""{"Scale":2,"Charged":1""")]
    [TestCase("""[1]""")]
    [TestCase("""{"Scale":99}""")]
    [TestCase("""{"Scale":2}x""")]
    [TestCase("""{"Scale":2}{}""")]
    public void SettlementJson_RefusesWhatIsNotASettlementRecord(string json)
    {
        Action decode = () => SettlementJson.Decode(Encoding.UTF8.GetBytes(json), new Utf8Strings());
        decode.Should().Throw<Exception>().Which.Should().Match<Exception>(ex => ex is JsonException || ex is ArgumentException);
    }

    [Test]
    public void Utf8Strings_GiveTheSameInstanceForTheSameBytes_AndStayCorrectPastTheirLimit()
    {
        var strings = new Utf8Strings();
        string first = strings.Get("customer-1"u8);
        strings.Get("customer-1"u8).Should().BeSameAs(first);
        for (int i = 0; i < Utf8Strings.Limit + 100; i++)
        {
            strings.Get(Encoding.UTF8.GetBytes($"c-{i}-é")).Should().Be($"c-{i}-é");
        }

        strings.Get("customer-1"u8).Should().BeSameAs(first);
    }

    private static string Describe(UsageEvent e) =>
        $"{e.Sequence} {e.Id} {e.CustomerId} {e.Charged} [{string.Join(";", e.Blocks.Select(b => $"{b.BlockId:N}={b.Amount}"))}]";

    /// <summary>
    /// Settlements of 0 to 4 blocks (a free one writes only its record), with grants between them, some reusing a reservation id
    /// right after another settlement of it (two instances), and some without a record (written by an older release).
    /// </summary>
    internal static List<LedgerEntry> RandomLedger(Random random, int settlements)
    {
        var entries = new List<LedgerEntry>();
        long seq = 0;
        long reservation = 1;
        for (int s = 0; s < settlements; s++)
        {
            if (random.Next(5) == 0)
            {
                entries.Add(Entry(++seq, LedgerEntryKind.Grant, null, 1_000_000, null, random));
            }

            long id = random.Next(8) == 0 ? reservation : ++reservation;
            int blocks = random.Next(5);
            long charged = 0;
            for (int b = 0; b < blocks; b++)
            {
                long amount = random.Next(1, 5_000);
                charged += amount;
                LedgerEntry paid = Entry(++seq, LedgerEntryKind.Settle, id, -amount, null, random);
                entries.Add(b == blocks - 1 && random.Next(4) != 0 ? paid with { Settlement = Record(charged) } : paid);
            }

            if (blocks == 0 || entries[^1].Settlement is null)
            {
                bool older = blocks > 0 && random.Next(10) == 0;
                if (!older)
                {
                    entries.Add(Entry(++seq, LedgerEntryKind.Settled, id, 0, Record(charged), random));
                }
            }
        }

        return entries;
    }

    private static SettlementRecord Record(long charged) => new()
    {
        AdmittedAt = T0,
        Charged = CreditAmount.FromUnits(charged, 6),
        Overdrawn = CreditAmount.Zero(6),
        Overage = CreditAmount.Zero(6),
        Waived = CreditAmount.Zero(6),
    };

    private static LedgerEntry Entry(long seq, LedgerEntryKind kind, long? reservation, long amount, SettlementRecord? settlement, Random random)
    {
        byte[] hash = new byte[32];
        random.NextBytes(hash);
        return new LedgerEntry
        {
            Sequence = seq,
            Timestamp = T0.AddSeconds(seq),
            Kind = kind,
            CustomerId = "acme",
            CreditType = "credits",
            BlockId = kind == LedgerEntryKind.Settle || kind == LedgerEntryKind.Grant ? new Guid(random.Next(1, 6), 0, 0, new byte[8]) : null,
            Amount = CreditAmount.FromUnits(amount, 6),
            ReservationId = reservation,
            Settlement = settlement,
            Hash = LedgerHash.FromBytes(hash),
        };
    }

    internal static SettlementRecord RandomRecord(Random random, int i)
    {
        int scale = random.Next(0, 7);
        string?[] texts = [null, "org/eng/alice", "gpt-x", "a \"quoted\" ünïcode \\ path", ""];
        return new SettlementRecord
        {
            AdmittedAt = T0.AddTicks(random.NextInt64(0, TimeSpan.TicksPerDay * 400)).ToOffset(TimeSpan.FromMinutes(random.Next(-12, 13) * 60)),
            Charged = CreditAmount.FromUnits(random.NextInt64(0, long.MaxValue / 4), scale),
            Overdrawn = CreditAmount.FromUnits(random.Next(0, 1000), scale),
            Overage = CreditAmount.FromUnits(random.Next(0, 1000), scale),
            Waived = CreditAmount.FromUnits(random.Next(0, 1000), scale),
            Tokens = random.Next(3) == 0 ? null : new TokenUsage(random.Next(), random.Next(), random.Next(), random.Next()),
            Estimated = random.Next(2) == 0,
            AnsweredModel = texts[random.Next(texts.Length)],
            SubjectPath = texts[random.Next(texts.Length)],
            Price = random.Next(3) == 0 ? null : random.NextInt64() / 10_000_000_000m,
            VendorCost = random.Next(3) == 0 ? null : i / 7m,
            CostCurrency = random.Next(2) == 0 ? null : "USD",
        };
    }

    private sealed class ListSource(List<LedgerEntry> entries) : ISettlementEntrySource
    {
        private int _open;

        internal long FailAfter { get; init; } = long.MaxValue;

        internal int Open => Volatile.Read(ref _open);

        public ValueTask<long> GetLastSequenceAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(entries[^1].Sequence);

        public async IAsyncEnumerable<LedgerEntry> ReadSettlementEntriesAsync(long afterSequence, long throughSequence, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _open);
            try
            {
                foreach (LedgerEntry entry in entries)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (entry.Sequence > afterSequence && entry.Sequence <= throughSequence && entry.ReservationId is not null)
                    {
                        if (entry.Sequence > FailAfter)
                        {
                            throw new LedgerUnavailableException("the store went away");
                        }

                        await Task.Yield();
                        yield return entry;
                    }
                }
            }
            finally
            {
                Interlocked.Decrement(ref _open);
            }
        }
    }
}
