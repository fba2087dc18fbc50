using System.Buffers;
using System.Globalization;
using System.Text;

namespace UsageGuard;

/// <summary>
/// Writes the audit export: every usage event of a time range (for finance, typically the past 90 days), with timestamps and full
/// attribution, as CSV or JSON Lines, streamed from the store in constant memory.
/// </summary>
/// <remarks>
/// The ledger is read once, in parts formatted on up to 4 cores (the built-in stores) or one after the other (any other store), and
/// the parts are written in ledger order; memory does not grow with the number of events. Amounts are written exactly (invariant
/// culture, the credit type's scale), instants in ISO 8601 UTC. docs/usage-events.md lists the columns.
/// </remarks>
public static class UsageAuditExport
{
    /// <summary>The CSV header: the columns in order.</summary>
    public const string CsvHeader = "id,sequence,timestamp,admitted_at,customer_id,credit_type,subject,subject_path,feature,model,answered_model,session_id,request_id,reservation_id,catalog_version,input_tokens,cached_input_tokens,output_tokens,reasoning_tokens,estimated,consumed,charged,overdrawn,overage,waived,blocks,price,vendor_cost,cost_currency";

    /// <summary>Writes the events of a time range as CSV (RFC 4180, a header line, <c>\n</c> line ends, UTF-8 without a BOM).</summary>
    /// <param name="store">The ledger store.</param>
    /// <param name="output">The stream to write to; left open.</param>
    /// <param name="filter">Which events: the time range and, optionally, one customer.</param>
    /// <param name="progress">Told the number of events written so far, as the export goes (after each part: 16,384 ledger entries
    /// with the built-in stores, about 1 MB of output with another store) and at the end; or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the export.</param>
    /// <returns>The number of events written.</returns>
    /// <exception cref="ArgumentNullException">An argument other than <paramref name="progress"/> is null.</exception>
    /// <exception cref="ArgumentException">The range ends before it starts.</exception>
    public static async Task<long> WriteCsvAsync(ILedgerStore store, Stream output, UsageAuditFilter filter, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        Check(store, output, filter);
        await output.WriteAsync(Encoding.UTF8.GetBytes(CsvHeader + "\n"), cancellationToken).ConfigureAwait(false);
        return await WriteAsync(store, output, filter, static (part, e) => part.AppendCsv(e), progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the events of a time range as JSON Lines: one <see cref="UsageEventJson"/> object per line.</summary>
    /// <param name="store">The ledger store.</param>
    /// <param name="output">The stream to write to; left open.</param>
    /// <param name="filter">Which events: the time range and, optionally, one customer.</param>
    /// <param name="progress">Told the number of events written so far, as the export goes (after each part: 16,384 ledger entries
    /// with the built-in stores, about 1 MB of output with another store) and at the end; or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the export.</param>
    /// <returns>The number of events written.</returns>
    /// <exception cref="ArgumentNullException">An argument other than <paramref name="progress"/> is null.</exception>
    /// <exception cref="ArgumentException">The range ends before it starts.</exception>
    public static async Task<long> WriteJsonLinesAsync(ILedgerStore store, Stream output, UsageAuditFilter filter, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        Check(store, output, filter);
        return await WriteAsync(store, output, filter, static (part, e) => part.AppendJson(e), progress, cancellationToken).ConfigureAwait(false);
    }

    private static void Check(ILedgerStore store, Stream output, UsageAuditFilter filter)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.To <= filter.From)
        {
            throw new ArgumentException($"The audit range must end after it starts ({filter.From:O} to {filter.To:O}).", nameof(filter));
        }
    }

    /// <summary>Formats the events into parts (on every core when the store can be read in ranges) and writes the parts in ledger order.</summary>
    private static async Task<long> WriteAsync(ILedgerStore store, Stream output, UsageAuditFilter filter, Action<Part, UsageEvent> format, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var spare = new System.Collections.Concurrent.ConcurrentBag<Part>();
        Part Create() => spare.TryTake(out Part? part) ? part : new Part();
        void Add(Part part, UsageEvent e)
        {
            if (e.Timestamp >= filter.From && e.Timestamp < filter.To && (filter.CustomerId is null || string.Equals(e.CustomerId, filter.CustomerId, StringComparison.Ordinal)))
            {
                format(part, e);
                part.Count++;
            }
        }

        long count = 0;
        await foreach (Part part in Parts(store, Create, Add, cancellationToken).ConfigureAwait(false))
        {
            await part.Bytes.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
            count += part.Count;
            if (part.Count > 0)
            {
                progress?.Report(count);
            }

            part.Clear();
            spare.Add(part);
        }

        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        progress?.Report(count);
        return count;
    }

    /// <summary>How many parts are formatted at once: every core but the one that writes the file, at least 1 and up to 4 (each part in flight holds about 12 MB of output).</summary>
    private static int Parallelism => Math.Clamp(Environment.ProcessorCount - 1, 1, 4);

    private static async IAsyncEnumerable<Part> Parts(ILedgerStore store, Func<Part> create, Action<Part, UsageEvent> add, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (store is ISettlementEntrySource source)
        {
            // The ledger as of now: entries appended while the export runs are left for the next one.
            long through = await source.GetLastSequenceAsync(cancellationToken).ConfigureAwait(false);
            await foreach (Part part in EventChunks.ReadAsync(source, 0, through, create, add, Parallelism, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                yield return part;
            }

            yield break;
        }

        Part current = create();
        await foreach (UsageEvent e in UsageEvents.ReadAsync(store, 0, cancellationToken).ConfigureAwait(false))
        {
            add(current, e);
            if (current.Bytes.WrittenCount >= Part.Full)
            {
                yield return current;
                current = create();
            }
        }

        yield return current;
    }

    /// <summary>Part of the export, formatted as UTF-8 and ready to be written.</summary>
    private sealed class Part
    {
        /// <summary>The size past which the sequential path hands a part over.</summary>
        internal const int Full = 1 << 20;

        internal PooledSegments Bytes { get; } = new();

        internal long Count { get; set; }

        internal void Clear()
        {
            Bytes.Clear();
            Count = 0;
        }

        internal void AppendJson(UsageEvent e)
        {
            UsageEventJson.WriteUtf8(Bytes, e);
            NewLine();
        }

        internal void AppendCsv(UsageEvent e)
        {
            WriteCsv(Bytes, e);
            NewLine();
        }

        private void NewLine()
        {
            Bytes.GetSpan(1)[0] = (byte)'\n';
            Bytes.Advance(1);
        }
    }

    /// <summary>Writes one event as a CSV row (no line end), straight as UTF-8.</summary>
    /// <remarks>Asks the writer once for room for the longest form the row can take, writes into it, and advances once.</remarks>
    internal static void WriteCsv(IBufferWriter<byte> output, UsageEvent e)
    {
        var row = new CsvRow(output.GetSpan(MaxCsvLength(e)));
        row.Text(e.Id);
        row.Number(e.Sequence);
        row.Instant(e.Timestamp);
        row.Instant(e.AdmittedAt);
        row.Text(e.CustomerId);
        row.Text(e.CreditType);
        row.Text(e.Subject);
        row.Text(e.SubjectPath);
        row.Text(e.Feature);
        row.Text(e.Model);
        row.Text(e.AnsweredModel);
        row.Text(e.SessionId);
        row.Text(e.RequestId);
        row.Number(e.ReservationId);
        row.Text(e.CatalogVersion);
        TokenUsage? tokens = e.Tokens;
        row.Number(tokens?.InputTokens);
        row.Number(tokens?.CachedInputTokens);
        row.Number(tokens?.OutputTokens);
        row.Number(tokens?.ReasoningTokens);
        row.Raw(e.Estimated ? "true"u8 : "false"u8);
        row.Amount(e.Consumed);
        row.Amount(e.Charged);
        row.Amount(e.Overdrawn);
        row.Amount(e.Overage);
        row.Amount(e.Waived);
        row.Blocks(e.Blocks);
        row.Number(e.Price);
        row.Number(e.VendorCost);
        row.Text(e.CostCurrency);
        output.Advance(row.Written);
    }

    /// <summary>The most bytes <see cref="WriteCsv"/> can write for an event.</summary>
    /// <remarks>
    /// The 15 fields that are numbers, instants or amounts take at most 64 bytes each and the separators 28, under 1 KB in all; a block
    /// at most 64 (a GUID, an amount and two separators); a text field at most 3 bytes a character (UTF-8 of a UTF-16 character, a
    /// doubled quote is 2) and its quotes.
    /// </remarks>
    private static int MaxCsvLength(UsageEvent e)
    {
        long length = 1_024 + (64L * e.Blocks.Count) + e.MaxTextBytes(bytesPerCharacter: 3, bytesPerField: 2);
        return length <= Array.MaxLength ? (int)length : throw new InvalidOperationException($"Usage event {e.Sequence} is too large to write as CSV.");
    }

    /// <summary>Writes the fields of one CSV row, comma-separated, into a span long enough for all of them, quoting a text field that holds a comma, quote or line break (RFC 4180).</summary>
    private ref struct CsvRow(Span<byte> span)
    {
        private readonly Span<byte> _span = span;
        private int _written;
        private bool _started;

        public readonly int Written => _written;

        public void Text(string? value)
        {
            Separate();
            if (value is null)
            {
                return;
            }

            if (value.AsSpan().IndexOfAny(",\"\r\n") >= 0)
            {
                _span[_written++] = (byte)'"';
                Utf8(value.Replace("\"", "\"\"", StringComparison.Ordinal));
                _span[_written++] = (byte)'"';
            }
            else
            {
                Utf8(value);
            }
        }

        public void Raw(ReadOnlySpan<byte> utf8)
        {
            Separate();
            Append(utf8);
        }

        public void Number<T>(T? value)
            where T : struct, IUtf8SpanFormattable
        {
            Separate();
            if (value is { } v)
            {
                Format(v, default);
            }
        }

        public void Number<T>(T value)
            where T : struct, IUtf8SpanFormattable
        {
            Separate();
            Format(value, default);
        }

        public void Amount(CreditAmount amount)
        {
            Separate();
            Units(amount);
        }

        public void Instant(DateTimeOffset instant)
        {
            Separate();
            Format(instant.UtcDateTime, "O");
        }

        public void Blocks(IReadOnlyList<BlockCharge> blocks)
        {
            Separate();
            for (int i = 0; i < blocks.Count; i++)
            {
                if (i > 0)
                {
                    _span[_written++] = (byte)';';
                }

                Format(blocks[i].BlockId, "D");
                _span[_written++] = (byte)':';
                Units(blocks[i].Amount);
            }
        }

        private void Separate()
        {
            if (_started)
            {
                _span[_written++] = (byte)',';
            }

            _started = true;
        }

        private void Append(ReadOnlySpan<byte> utf8)
        {
            utf8.CopyTo(_span[_written..]);
            _written += utf8.Length;
        }

        private void Format<T>(T value, ReadOnlySpan<char> format)
            where T : IUtf8SpanFormattable
        {
            if (!value.TryFormat(_span.Slice(_written, Math.Min(64, _span.Length - _written)), out int written, format, CultureInfo.InvariantCulture))
            {
                throw new InvalidOperationException($"A {typeof(T).Name} did not fit 64 bytes.");
            }

            _written += written;
        }

        private void Units(CreditAmount amount) =>
            _written += FixedPoint.FormatUtf8(amount.Units, amount.Scale, _span[_written..]);

        private void Utf8(string value) =>
            _written += Encoding.UTF8.GetBytes(value, _span[_written..]);
    }
}
