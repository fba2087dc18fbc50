using System.Globalization;
using System.Text;
using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Ledger;

[TestFixture]
public sealed class LedgerOutboxTests
{
    private static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 8, 1, 10, 30, 0, TimeSpan.FromHours(5.5)).AddTicks(1_234_567);

    private string _directory = null!;

    [SetUp]
    public void SetUp() =>
        _directory = Path.Combine(Path.GetTempPath(), "usageguard-outbox-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
        else if (File.Exists(_directory))
        {
            File.Delete(_directory);
        }
    }

    [Test]
    public void Read_OfSpill_GivesEveryFieldOfEveryEntryAndRecordBack()
    {
        LedgerEntry[] entries = [Grant(), Settle()];
        IdempotencyRecord[] records = [Record("key-1"), Record("key-2")];
        var outbox = new LedgerOutbox(_directory);
        var batchId = Guid.NewGuid();

        OutboxBatch spilled = outbox.Spill(batchId, entries, records);
        OutboxBatch read = new LedgerOutbox(_directory).Read(spilled.Path);

        read.Path.Should().Be(spilled.Path);
        read.BatchId.Should().Be(batchId);
        read.Entries.Should().HaveCount(2);
        for (int i = 0; i < entries.Length; i++)
        {
            ShouldBeExactly(read.Entries[i], entries[i]);
        }

        read.Records.Should().HaveCount(2);
        for (int i = 0; i < records.Length; i++)
        {
            read.Records[i].Should().BeEquivalentTo(records[i]);
            Exact(read.Records[i].CreatedAt).Should().Be(Exact(records[i].CreatedAt));
        }
    }

    [Test]
    public void DecodeOutboxBatch_OfEncodeOutboxBatch_GivesEveryFieldBack()
    {
        LedgerEntry[] entries = [Settle(), Grant()];
        var batchId = Guid.NewGuid();

        (Guid id, LedgerEntry[] decoded, IdempotencyRecord[] records) =
            StoreCodec.DecodeOutboxBatch(StoreCodec.EncodeOutboxBatch(batchId, entries, [Record("k")]));

        id.Should().Be(batchId);
        ShouldBeExactly(decoded[0], entries[0]);
        ShouldBeExactly(decoded[1], entries[1]);
        records.Should().ContainSingle().Which.Key.Should().Be("k");
    }

    [Test]
    public void EncodeOutboxBatch_StartsWithTheVersionedChecksumHeader()
    {
        byte[] bytes = StoreCodec.EncodeOutboxBatch(Guid.NewGuid(), [Settle()], []);

        int newline = Array.IndexOf(bytes, (byte)'\n');
        string header = Encoding.ASCII.GetString(bytes, 0, newline);
        header.Should().Be("ugoutbox 1 " + Convert.ToHexStringLower(StoreCodec.Checksum(bytes.AsSpan(newline + 1))));
        Encoding.UTF8.GetString(bytes, newline + 1, bytes.Length - newline - 1).Should().Contain("\"AmountUnits\":-1500001");
    }

    [Test]
    public void Read_OfSpillWithOnlyRecords_GivesNoEntriesAndTheRecords()
    {
        var outbox = new LedgerOutbox(_directory);
        IdempotencyRecord record = Record("only");

        OutboxBatch read = outbox.Read(outbox.Spill(Guid.NewGuid(), ReadOnlySpan<LedgerEntry>.Empty, [record]).Path);

        read.Entries.Should().BeEmpty();
        read.Records.Should().ContainSingle().Which.Should().BeEquivalentTo(record);
    }

    [Test]
    public void Spill_LeavesOnlyTheFinalNamedFile()
    {
        var outbox = new LedgerOutbox(_directory);
        var batchId = Guid.NewGuid();

        OutboxBatch batch = outbox.Spill(batchId, [Grant()], []);

        Path.GetFileName(batch.Path).Should().Be($"{1:D20}-{batchId:N}.batch");
        Directory.GetFiles(_directory).Should().Equal(batch.Path);
    }

    [Test]
    public void PendingFiles_AcrossANewOutboxOnTheSameDirectory_KeepsSpillOrder()
    {
        // Ids in descending order, so that name order by batch id would reverse spill order.
        Guid[] ids = Enumerable.Range(0, 5).Select(i => Guid.Parse($"{9 - i:D8}-0000-0000-0000-000000000000")).ToArray();
        var first = new LedgerOutbox(_directory);
        for (int i = 0; i < 3; i++)
        {
            first.Spill(ids[i], [Grant() with { Sequence = i + 1 }], []);
        }

        var second = new LedgerOutbox(_directory);
        for (int i = 3; i < 5; i++)
        {
            second.Spill(ids[i], [Grant() with { Sequence = i + 1 }], []);
        }

        IReadOnlyList<string> pending = new LedgerOutbox(_directory).PendingFiles();

        pending.Should().HaveCount(5);
        pending.Select(p => second.Read(p).BatchId).Should().Equal(ids);
        pending.Select(p => second.Read(p).Entries[0].Sequence).Should().Equal(1L, 2L, 3L, 4L, 5L);
        first.PendingFiles().Should().Equal(pending);
    }

    [Test]
    public void PendingFiles_AfterCounterPassesADecimalDigit_KeepsSpillOrder()
    {
        var outbox = new LedgerOutbox(_directory);
        var ids = new List<Guid>();
        for (int i = 0; i < 12; i++)
        {
            ids.Add(Guid.NewGuid());
            outbox.Spill(ids[^1], [], []);
        }

        outbox.PendingFiles().Select(p => outbox.Read(p).BatchId).Should().Equal(ids);
    }

    [Test]
    public void Count_AfterSpillsRemovesAndReopening_CountsTheFilesWaiting()
    {
        var outbox = new LedgerOutbox(_directory);
        outbox.Count.Should().Be(0);
        OutboxBatch a = outbox.Spill(Guid.NewGuid(), [Grant()], []);
        outbox.Spill(Guid.NewGuid(), [Grant()], []);
        OutboxBatch c = outbox.Spill(Guid.NewGuid(), [Grant()], []);
        outbox.Count.Should().Be(3);

        outbox.Remove(a);
        outbox.Count.Should().Be(2);
        outbox.Remove(a);
        outbox.Count.Should().Be(2, "removing a batch twice removes one file");

        var reopened = new LedgerOutbox(_directory);
        reopened.Count.Should().Be(2);
        reopened.Remove(reopened.Read(c.Path));
        reopened.Count.Should().Be(1);
        reopened.Spill(Guid.NewGuid(), [], [Record("k")]);
        reopened.Count.Should().Be(2);
        reopened.PendingFiles().Should().HaveCount(2);
    }

    [Test]
    public void Count_ManyThreadsRemoving_EndsAtZero()
    {
        var outbox = new LedgerOutbox(_directory);
        OutboxBatch[] batches = Enumerable.Range(0, 64).Select(_ => outbox.Spill(Guid.NewGuid(), [], [])).ToArray();

        Parallel.ForEach(batches, new ParallelOptions { MaxDegreeOfParallelism = 8 }, outbox.Remove);

        outbox.Count.Should().Be(0);
        outbox.PendingFiles().Should().BeEmpty();
    }

    [TestCase(0)]
    [TestCase(11)]
    [TestCase(40)]
    [TestCase(80)]
    [TestCase(200)]
    [TestCase(-2)]
    public void Read_OfAFileWithAFlippedByte_ThrowsNamingTheFileAndKeepsIt(int position)
    {
        var outbox = new LedgerOutbox(_directory);
        string path = outbox.Spill(Guid.NewGuid(), [Grant(), Settle()], [Record("k")]).Path;
        byte[] bytes = File.ReadAllBytes(path);
        int at = position >= 0 ? position : bytes.Length + position;
        bytes[at] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        Action read = () => outbox.Read(path);

        read.Should().Throw<LedgerCorruptedException>().Which.Message.Should().Contain(path);
        File.Exists(path).Should().BeTrue();
        outbox.PendingFiles().Should().Equal(path);
    }

    [TestCase(0, "empty")]
    [TestCase(10, "header")]
    [TestCase(76, "checksum")]
    [TestCase(-1, "checksum")]
    public void Read_OfATruncatedFile_ThrowsNamingTheFileAndWhatIsWrongAndKeepsIt(int length, string what)
    {
        var outbox = new LedgerOutbox(_directory);
        string path = outbox.Spill(Guid.NewGuid(), [Grant()], []).Path;
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(length >= 0 ? length : bytes.Length + length)]);

        Action read = () => outbox.Read(path);

        read.Should().Throw<LedgerCorruptedException>().Which.Message.Should().Contain(path).And.Contain(what);
        File.Exists(path).Should().BeTrue();
    }

    [Test]
    public void Read_OfAnUnknownFormatVersion_ThrowsNamingTheVersion()
    {
        var outbox = new LedgerOutbox(_directory);
        string path = outbox.Spill(Guid.NewGuid(), [Grant()], []).Path;
        byte[] bytes = File.ReadAllBytes(path);
        bytes["ugoutbox ".Length] = (byte)'2';
        File.WriteAllBytes(path, bytes);

        Action read = () => outbox.Read(path);

        read.Should().Throw<LedgerCorruptedException>().Which.Message.Should().Contain(path).And.Contain("format version 2");
    }

    [Test]
    public void Read_OfInvalidJsonWithAMatchingChecksum_Throws()
    {
        var outbox = new LedgerOutbox(_directory);
        var batchId = Guid.NewGuid();
        string path = Path.Combine(_directory, $"{1:D20}-{batchId:N}.batch");
        byte[] payload = Encoding.UTF8.GetBytes("""{"BatchId":"not a guid","Entries":[""");
        File.WriteAllBytes(path, WithHeader(payload));

        Action read = () => outbox.Read(path);

        read.Should().Throw<LedgerCorruptedException>().Which.Message.Should().Contain(path).And.Contain("JSON");
    }

    [Test]
    public void Read_OfAnEntryWithABadHash_Throws()
    {
        var outbox = new LedgerOutbox(_directory);
        var batchId = Guid.NewGuid();
        string path = Path.Combine(_directory, $"{1:D20}-{batchId:N}.batch");
        string json = Encoding.UTF8.GetString(StoreCodec.EncodeOutboxBatch(batchId, [Grant()], [])).Split('\n', 2)[1];
        json = json.Replace(new string('a', 64), "zz", StringComparison.Ordinal);
        File.WriteAllBytes(path, WithHeader(Encoding.UTF8.GetBytes(json)));

        Action read = () => outbox.Read(path);

        read.Should().Throw<LedgerCorruptedException>().Which.Message.Should().Contain(path);
    }

    [Test]
    public void Read_OfAFileNamedForAnotherBatch_Throws()
    {
        var outbox = new LedgerOutbox(_directory);
        var batchId = Guid.NewGuid();
        string path = outbox.Spill(batchId, [Grant()], []).Path;
        string renamed = Path.Combine(_directory, $"{9:D20}-{Guid.NewGuid():N}.batch");
        File.Move(path, renamed);

        Action read = () => outbox.Read(renamed);

        read.Should().Throw<LedgerCorruptedException>().Which.Message.Should().Contain(renamed).And.Contain(batchId.ToString("N"));
    }

    [Test]
    public void PendingFiles_WithALeftoverTmpFile_DeletesItAndDoesNotListIt()
    {
        var outbox = new LedgerOutbox(_directory);
        string spilled = outbox.Spill(Guid.NewGuid(), [Grant()], []).Path;
        string leftover = Path.Combine(_directory, $"{2:D20}-{Guid.NewGuid():N}.batch.tmp");
        File.WriteAllBytes(leftover, StoreCodec.EncodeOutboxBatch(Guid.NewGuid(), [Grant()], [])[..30]);
        string foreign = Path.Combine(_directory, "notes.txt");
        File.WriteAllText(foreign, "not a batch");

        IReadOnlyList<string> pending = new LedgerOutbox(_directory).PendingFiles();

        pending.Should().Equal(spilled);
        File.Exists(leftover).Should().BeFalse();
        File.Exists(foreign).Should().BeTrue("files the outbox did not write are left alone");
    }

    [Test]
    public void PendingFiles_WithAWholeLeftoverTmpFile_TakesItBackUnderItsFinalName()
    {
        // A power cut after the flush but before the rename reached the disk: the batch was acknowledged, so it must not be lost.
        var outbox = new LedgerOutbox(_directory);
        string first = outbox.Spill(Guid.NewGuid(), [Grant()], []).Path;
        var batchId = Guid.NewGuid();
        string final = Path.Combine(_directory, $"{2:D20}-{batchId:N}.batch");
        File.WriteAllBytes(final + ".tmp", StoreCodec.EncodeOutboxBatch(batchId, [Grant()], []));

        var reopened = new LedgerOutbox(_directory);
        IReadOnlyList<string> pending = reopened.PendingFiles();

        pending.Should().Equal(first, final);
        File.Exists(final + ".tmp").Should().BeFalse();
        reopened.Read(final).BatchId.Should().Be(batchId);
        reopened.Count.Should().Be(2);
    }

    [Test]
    public void SetAside_RenamesTheFileDamagedAndCountsItNoLonger()
    {
        var outbox = new LedgerOutbox(_directory);
        string damaged = outbox.Spill(Guid.NewGuid(), [Grant()], []).Path;
        string next = outbox.Spill(Guid.NewGuid(), [Grant()], []).Path;

        outbox.SetAside(damaged);

        outbox.Count.Should().Be(1);
        outbox.PendingFiles().Should().Equal(next);
        File.Exists(damaged + ".damaged").Should().BeTrue("the file is kept for whoever reconciles it");
    }

    [Test]
    public void PendingFiles_WhileAnotherInstanceHoldsATmpFile_LeavesIt()
    {
        var outbox = new LedgerOutbox(_directory);
        string inFlight = Path.Combine(_directory, $"{1:D20}-{Guid.NewGuid():N}.batch.tmp");
        using (var stream = new FileStream(inFlight, FileMode.CreateNew, FileAccess.Write, FileShare.Delete))
        {
            outbox.PendingFiles().Should().BeEmpty();
            File.Exists(inFlight).Should().BeTrue("a spill still writing its temp file is not a crash leftover");
        }

        outbox.PendingFiles().Should().BeEmpty();
        File.Exists(inFlight).Should().BeFalse();
    }

    [Test]
    public void Remove_OfABatchAlreadyDeleted_DoesNotThrow()
    {
        var outbox = new LedgerOutbox(_directory);
        OutboxBatch batch = outbox.Spill(Guid.NewGuid(), [Grant()], []);
        File.Delete(batch.Path);

        Action remove = () => outbox.Remove(batch);

        remove.Should().NotThrow();
        outbox.PendingFiles().Should().BeEmpty();
    }

    [Test]
    public void Constructor_OnAnExistingFile_ThrowsArgumentExceptionNamingThePath()
    {
        File.WriteAllText(_directory, "a file, not a directory");

        Action create = () => _ = new LedgerOutbox(_directory);

        create.Should().Throw<ArgumentException>().Which.Message.Should().Contain(_directory);
    }

    [Test]
    public void Constructor_UnderAnExistingFile_ThrowsArgumentExceptionNamingThePath()
    {
        File.WriteAllText(_directory, "a file, not a directory");
        string below = Path.Combine(_directory, "outbox");

        Action create = () => _ = new LedgerOutbox(below);

        create.Should().Throw<ArgumentException>().Which.Message.Should().Contain(below);
    }

    [Test]
    public void Constructor_OnAMissingDirectory_CreatesItEmpty()
    {
        string nested = Path.Combine(_directory, "a", "b");

        var outbox = new LedgerOutbox(nested);

        Directory.Exists(nested).Should().BeTrue();
        outbox.Directory.Should().Be(nested);
        outbox.Count.Should().Be(0);
        Directory.GetFiles(nested).Should().BeEmpty("the writability probe is removed");
    }

    private static byte[] WithHeader(byte[] payload) =>
    [
        .. Encoding.ASCII.GetBytes("ugoutbox 1 " + Convert.ToHexStringLower(StoreCodec.Checksum(payload)) + "\n"),
        .. payload,
    ];

    private static IdempotencyRecord Record(string key) => new()
    {
        CustomerId = "acme",
        Key = key,
        Fingerprint = "fp-" + key,
        CreatedAt = T0.ToOffset(TimeSpan.FromHours(-7)).AddTicks(3),
        Outcome = """{"status":"ok","units":"-1.5"}""",
    };

    private static LedgerEntry Grant()
    {
        var block = new CreditBlock(
            Guid.NewGuid(),
            "acme",
            "credits",
            CreditAmount.FromUnits(2_500_000_001, 6),
            T0.AddTicks(7),
            T0.ToOffset(TimeSpan.FromHours(-3)).AddDays(30),
            3,
            CreditCategory.Paid,
            12.3456789m,
            "feature:chat",
            new Dictionary<string, string> { ["invoice"] = "inv-1", ["note"] = "ünïcødé \"quoted\"" },
            T0.AddTicks(-9));
        return new LedgerEntry
        {
            Sequence = 41,
            Timestamp = T0,
            Kind = LedgerEntryKind.Grant,
            CustomerId = "acme",
            CreditType = "credits",
            BlockId = block.Id,
            Amount = block.Amount,
            BalanceBefore = CreditAmount.FromUnits(-1_000_001, 6),
            BalanceAfter = CreditAmount.FromUnits(2_499_000_000, 6),
            Subject = "user-1",
            Reason = "top-up",
            IdempotencyKey = "grant-1",
            Block = block,
            CatalogVersion = "0123456789abcdef",
            PreviousHash = LedgerHash.Parse(new string('a', 64)),
            Hash = LedgerHash.Parse(new string('b', 63) + "c"),
        };
    }

    private static LedgerEntry Settle() => new()
    {
        Sequence = long.MaxValue - 1,
        Timestamp = T0.ToOffset(TimeSpan.FromMinutes(-570)).AddTicks(1),
        Kind = LedgerEntryKind.Settle,
        CustomerId = "globex",
        CreditType = "usd",
        BlockId = Guid.NewGuid(),
        Amount = CreditAmount.FromUnits(-1_500_001, 6),
        BalanceBefore = CreditAmount.FromUnits(105, 2),
        BalanceAfter = CreditAmount.FromUnits(long.MinValue, 18),
        Subject = "agent-7",
        Feature = "feature:chat",
        Model = "gpt-x",
        SessionId = "session-9",
        RequestId = "req-3",
        IdempotencyKey = "settle-3",
        ReservationId = 1L << 40,
        Reason = "settled",
        Usage = new MeteredUsage("tokens:gpt-x", 123_456, UsageWindow.Minute, T0.AddTicks(5), T0.AddTicks(5).AddMinutes(1)),
        Budgeted = new BudgetedUsage(T0.ToOffset(TimeSpan.FromHours(9)).AddTicks(11), CreditAmount.FromUnits(1_500_001, 6), 777, ["team:a", "prod"]),
        CatalogVersion = "fedcba9876543210",
        PreviousHash = LedgerHash.Parse(new string('b', 63) + "c"),
        Hash = LedgerHash.Parse("0123456789abcdef" + new string('e', 48)),
    };

    private static void ShouldBeExactly(LedgerEntry actual, LedgerEntry expected)
    {
        // CreditBlock compares by reference, and DateTimeOffset equality ignores the offset: both are checked field by field below.
        (actual with { Block = null }).Should().Be(expected with { Block = null });
        Exact(actual.Timestamp).Should().Be(Exact(expected.Timestamp));
        actual.Amount.Scale.Should().Be(expected.Amount.Scale);
        actual.BalanceBefore.Scale.Should().Be(expected.BalanceBefore.Scale);
        actual.BalanceAfter.Scale.Should().Be(expected.BalanceAfter.Scale);
        actual.Hash.ToString().Should().Be(expected.Hash.ToString());
        actual.PreviousHash.ToString().Should().Be(expected.PreviousHash.ToString());
        if (expected.Usage is { } usage)
        {
            Exact(actual.Usage!.Value.WindowStart).Should().Be(Exact(usage.WindowStart));
            Exact(actual.Usage!.Value.WindowEnd).Should().Be(Exact(usage.WindowEnd));
        }

        if (expected.Budgeted is { } budgeted)
        {
            Exact(actual.Budgeted!.Value.AdmittedAt).Should().Be(Exact(budgeted.AdmittedAt));
            actual.Budgeted.Value.Tags.Should().Equal(budgeted.Tags);
            actual.Budgeted.Value.Credits.Scale.Should().Be(budgeted.Credits.Scale);
        }

        if (expected.Block is null)
        {
            actual.Block.Should().BeNull();
            return;
        }

        CreditBlock block = actual.Block!;
        block.Should().BeEquivalentTo(expected.Block);
        block.Amount.Should().Be(expected.Block.Amount);
        Exact(block.EffectiveAt).Should().Be(Exact(expected.Block.EffectiveAt));
        Exact(block.ExpiresAt!.Value).Should().Be(Exact(expected.Block.ExpiresAt!.Value));
        Exact(block.CreatedAt).Should().Be(Exact(expected.Block.CreatedAt));
        block.CostBasis.Should().Be(expected.Block.CostBasis);
        block.Metadata.Should().Equal(expected.Block.Metadata);
    }

    private static string Exact(DateTimeOffset value) => value.ToString("O", CultureInfo.InvariantCulture);
}
