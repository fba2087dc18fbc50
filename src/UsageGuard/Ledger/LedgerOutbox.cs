using System.Globalization;

namespace UsageGuard;

/// <summary>
/// A directory of ledger batches the shared store could not take yet: the ledger writer spills a batch here before it acknowledges
/// it, and appends the files to the store in spill order once it can (also at start-up, before the ledger is read), removing each
/// after the store took it.
/// </summary>
/// <remarks>
/// <para>A batch is one file, <c>{counter:D20}-{batchId:N}.batch</c>, in the format of <see cref="StoreCodec.EncodeOutboxBatch"/>
/// (a versioned header with a SHA-256 checksum, then JSON). The counter continues after the highest one already in the directory,
/// so ordinal name order is spill order, also across restarts. Re-appending a batch is safe: the store recognises a batch id it
/// already committed, so a crash between the store's commit and <see cref="Remove"/> costs nothing.</para>
/// <para>A batch is written to a <c>.tmp</c> file, flushed to disk, then renamed: a final-named file is always complete. The rename
/// is not followed by a flush of the directory itself (.NET has no portable way to do that), so after a power cut a batch that was
/// acknowledged can be found under its <c>.tmp</c> name: <see cref="PendingFiles"/> takes back a leftover <c>.tmp</c> file that is
/// whole (its checksum verifies) and deletes one that is not (a spill that crashed mid-write, never acknowledged).</para>
/// <para><see cref="Spill"/> is called by one thread at a time (the ledger writer); <see cref="PendingFiles"/>, <see cref="Read"/>,
/// <see cref="Remove"/> and <see cref="Count"/> may run on other threads, and other instances may share the directory.
/// <see cref="Count"/> sees only this instance's spills and removals after it counted the directory at construction.</para>
/// </remarks>
internal sealed class LedgerOutbox
{
    private const string BatchExtension = ".batch";
    private const string TempExtension = ".tmp";
    private const int CounterDigits = 20;

    // "{counter:D20}-{batchId:N}.batch"
    private const int BatchNameLength = CounterDigits + 1 + 32 + 6;

    private long _lastCounter;
    private int _count;

    // The temp file this instance is writing, which PendingFiles must not sweep away as a crash leftover.
    private volatile string? _spilling;

    /// <summary>Initializes a new instance of the <see cref="LedgerOutbox"/> class on a directory, creating it when missing.</summary>
    /// <param name="directory">The outbox directory.</param>
    /// <exception cref="ArgumentException">
    /// <paramref name="directory"/> is null or empty, is an existing file, or cannot be created or written to.
    /// </exception>
    internal LedgerOutbox(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        try
        {
            Directory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ArgumentException($"The ledger outbox directory '{directory}' is not a valid path: {e.Message}", nameof(directory), e);
        }

        if (File.Exists(Directory))
        {
            throw new ArgumentException(
                $"The ledger outbox directory '{directory}' is an existing file; give the path of a directory (it is created when missing).",
                nameof(directory));
        }

        try
        {
            System.IO.Directory.CreateDirectory(Directory);

            // Probe now: an outbox found unwritable only when the store is down would lose the batch it was meant to keep.
            string probe = Path.Combine(Directory, $"{Guid.NewGuid():N}.probe");
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1))
            {
            }

            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException(
                $"The ledger outbox directory '{directory}' cannot be created or written to: {e.Message} Give a writable directory.",
                nameof(directory),
                e);
        }

        foreach (string path in System.IO.Directory.EnumerateFiles(Directory, "*" + BatchExtension))
        {
            if (TryParseName(Path.GetFileName(path), out long counter, out _))
            {
                _count++;
                _lastCounter = Math.Max(_lastCounter, counter);
            }
        }
    }

    /// <summary>Gets the full path of the outbox directory.</summary>
    internal string Directory { get; }

    /// <summary>Gets the number of batches waiting: those found at construction, plus this instance's spills, less its removals.</summary>
    internal int Count => Volatile.Read(ref _count);

    /// <summary>Writes a batch durably: to a temp file, flushed to disk, then renamed to its final name.</summary>
    /// <param name="batchId">The batch id the store uses to recognise a batch it already committed.</param>
    /// <param name="entries">The entries, in ledger order.</param>
    /// <param name="records">The idempotency records committed with the entries.</param>
    /// <returns>The spilled batch.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="records"/> or one of its items is <see langword="null"/>.</exception>
    /// <exception cref="IOException">The file cannot be written (a full disk, a removed directory); nothing was spilled.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is no longer writable; nothing was spilled.</exception>
    internal OutboxBatch Spill(Guid batchId, ReadOnlySpan<LedgerEntry> entries, IReadOnlyList<IdempotencyRecord> records)
    {
        byte[] bytes = StoreCodec.EncodeOutboxBatch(batchId, entries, records);
        long counter = Interlocked.Increment(ref _lastCounter);
        string path = Path.Combine(Directory, string.Create(CultureInfo.InvariantCulture, $"{counter:D20}-{batchId:N}{BatchExtension}"));
        string temp = path + TempExtension;
        _spilling = temp;
        try
        {
            // FileShare.Delete: the rename below happens while the file is still open, so that no sweep of crash leftovers in another
            // instance (which needs the file to itself) can delete it between the flush and the rename.
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.Delete, bufferSize: 1))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
                File.Move(temp, path, overwrite: false);
            }
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        finally
        {
            _spilling = null;
        }

        Interlocked.Increment(ref _count);
        return new OutboxBatch(path, batchId, entries.ToArray(), [.. records]);
    }

    /// <summary>Lists the batch files waiting, in spill order, and deletes leftover temp files of spills that crashed.</summary>
    /// <returns>The full paths of the batch files, oldest first.</returns>
    /// <exception cref="IOException">The directory cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory cannot be read.</exception>
    internal IReadOnlyList<string> PendingFiles()
    {
        var pending = new List<string>();
        foreach (string path in System.IO.Directory.EnumerateFiles(Directory))
        {
            string name = Path.GetFileName(path);
            if (name.EndsWith(TempExtension, StringComparison.Ordinal))
            {
                if (SweepLeftover(path) is { } recovered)
                {
                    pending.Add(recovered);
                }
            }
            else if (TryParseName(name, out _, out _))
            {
                pending.Add(path);
            }
        }

        // Same directory, so ordinal path order is name order, which is counter order: the counter has a fixed width.
        pending.Sort(StringComparer.Ordinal);
        return pending;
    }

    /// <summary>Reads and verifies one batch file.</summary>
    /// <param name="path">The file, as listed by <see cref="PendingFiles"/>; a relative path is taken in the outbox directory.</param>
    /// <returns>The batch.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="LedgerCorruptedException">The file is damaged, or holds another batch than its name says; it is kept.</exception>
    /// <exception cref="FileNotFoundException">The file is gone (another instance sharing the directory appended and removed it).</exception>
    internal OutboxBatch Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        path = Path.Combine(Directory, path);
        byte[] bytes = File.ReadAllBytes(path);
        (Guid BatchId, LedgerEntry[] Entries, IdempotencyRecord[] Records) batch;
        try
        {
            batch = StoreCodec.DecodeOutboxBatch(bytes);
        }
        catch (LedgerCorruptedException e)
        {
            throw Damaged(path, e.Message, e);
        }

        if (TryParseName(Path.GetFileName(path), out _, out Guid named) && named != batch.BatchId)
        {
            throw Damaged(path, $"Its name says batch {named:N} but it holds batch {batch.BatchId:N}.", null);
        }

        return new OutboxBatch(path, batch.BatchId, batch.Entries, batch.Records);
    }

    /// <summary>Deletes a batch's file once the store took it; a file already gone is fine.</summary>
    /// <param name="batch">The batch.</param>
    /// <exception cref="ArgumentNullException"><paramref name="batch"/> is <see langword="null"/>.</exception>
    /// <exception cref="IOException">The file exists but cannot be deleted.</exception>
    /// <exception cref="UnauthorizedAccessException">The file exists but cannot be deleted.</exception>
    internal void Remove(OutboxBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);

        // Another instance sharing the directory may have appended and removed it already.
        if (!File.Exists(batch.Path))
        {
            return;
        }

        File.Delete(batch.Path);
        Decrement();
    }

    /// <summary>One batch fewer waiting, never below zero.</summary>
    private void Decrement()
    {
        int count = Volatile.Read(ref _count);
        while (count > 0)
        {
            int seen = Interlocked.CompareExchange(ref _count, count - 1, count);
            if (seen == count)
            {
                break;
            }

            count = seen;
        }
    }

    private static LedgerCorruptedException Damaged(string path, string what, Exception? inner)
    {
        string message = $"The ledger outbox file '{path}' cannot be appended to the store. {what} The file was kept: it holds acknowledged "
            + "ledger entries the store may not have. Restore it from a backup, or move it out of the outbox directory once its entries "
            + "are accounted for.";
        return inner is null ? new(message) : new(message, inner);
    }

    /// <summary>Sets aside a damaged batch file (renamed <c>.damaged</c>), so the batches after it can be appended.</summary>
    /// <param name="path">The file, as listed by <see cref="PendingFiles"/>.</param>
    internal void SetAside(string path)
    {
        try
        {
            File.Move(path, path + ".damaged", overwrite: true);
        }
        catch (FileNotFoundException)
        {
            return;
        }

        Decrement();
    }

    /// <summary>Takes back a whole leftover temp file under its final name (returned), or deletes a partial one.</summary>
    private string? SweepLeftover(string path)
    {
        if (string.Equals(path, _spilling, StringComparison.Ordinal))
        {
            return null;
        }

        string final = path[..^TempExtension.Length];
        bool whole;
        try
        {
            // Needing the file to itself skips a spill still writing it (in another instance sharing the directory).
            using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, bufferSize: 1);
            byte[] bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            whole = TryParseName(Path.GetFileName(final), out _, out Guid named) && IsWhole(bytes, named);
            if (whole)
            {
                File.Move(path, final, overwrite: false);
            }
            else
            {
                File.Delete(path);
            }
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (IOException)
        {
            // In use: a spill in progress, not a leftover.
            return null;
        }

        if (!whole)
        {
            return null;
        }

        Interlocked.Increment(ref _count);
        return final;
    }

    private static bool IsWhole(byte[] bytes, Guid named)
    {
        try
        {
            return StoreCodec.DecodeOutboxBatch(bytes).BatchId == named;
        }
        catch (LedgerCorruptedException)
        {
            return false;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover temp file is swept by PendingFiles; the spill's own error is the one to report.
        }
    }

    private static bool TryParseName(string name, out long counter, out Guid batchId)
    {
        counter = 0;
        batchId = Guid.Empty;
        return name.Length == BatchNameLength
            && name.EndsWith(BatchExtension, StringComparison.Ordinal)
            && name[CounterDigits] == '-'
            && long.TryParse(name.AsSpan(0, CounterDigits), NumberStyles.None, CultureInfo.InvariantCulture, out counter)
            && Guid.TryParseExact(name.AsSpan(CounterDigits + 1, 32), "N", out batchId);
    }
}

/// <summary>A batch of ledger entries and idempotency records waiting in the <see cref="LedgerOutbox"/>.</summary>
/// <param name="Path">The batch's file.</param>
/// <param name="BatchId">The batch id the store uses to recognise a batch it already committed.</param>
/// <param name="Entries">The entries, in ledger order.</param>
/// <param name="Records">The idempotency records committed with the entries.</param>
internal sealed record OutboxBatch(string Path, Guid BatchId, LedgerEntry[] Entries, IdempotencyRecord[] Records);
