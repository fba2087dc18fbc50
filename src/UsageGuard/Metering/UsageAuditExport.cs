using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace UsageGuard;

/// <summary>
/// Writes the audit export: every usage event of a time range (for finance, typically the past 90 days), with timestamps and full
/// attribution, as CSV or JSON Lines, streamed from the store in constant memory.
/// </summary>
/// <remarks>
/// The ledger is read once, in order, as it is written out; memory does not grow with the number of events. Amounts are written
/// exactly (invariant culture, the credit type's scale), instants in ISO 8601 UTC. docs/usage-events.md lists the columns.
/// </remarks>
public static class UsageAuditExport
{
    /// <summary>The CSV header: the columns in order.</summary>
    public const string CsvHeader = "id,sequence,timestamp,admitted_at,customer_id,credit_type,subject,subject_path,feature,model,answered_model,session_id,request_id,reservation_id,catalog_version,input_tokens,cached_input_tokens,output_tokens,reasoning_tokens,estimated,consumed,charged,overdrawn,overage,waived,blocks,price,vendor_cost,cost_currency";

    /// <summary>Writes the events of a time range as CSV (RFC 4180, a header line, <c>\n</c> line ends, UTF-8 without a BOM).</summary>
    /// <param name="store">The ledger store.</param>
    /// <param name="output">The stream to write to; left open.</param>
    /// <param name="filter">Which events: the time range and, optionally, one customer.</param>
    /// <param name="progress">Told the number of events written so far, as the export goes (after each part of the ledger, at most
    /// 16,384 entries) and at the end; or <see langword="null"/>.</param>
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
    /// <param name="progress">Told the number of events written so far, as the export goes (after each part of the ledger, at most
    /// 16,384 entries) and at the end; or <see langword="null"/>.</param>
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
        try
        {
            await foreach (Part part in Parts(store, Create, Add, cancellationToken).ConfigureAwait(false))
            {
                await output.WriteAsync(part.Bytes.WrittenMemory, cancellationToken).ConfigureAwait(false);
                count += part.Count;
                if (part.Count > 0)
                {
                    progress?.Report(count);
                }

                part.Clear();
                spare.Add(part);
            }
        }
        finally
        {
            foreach (Part part in spare)
            {
                part.Dispose();
            }
        }

        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        progress?.Report(count);
        return count;
    }

    private static async IAsyncEnumerable<Part> Parts(ILedgerStore store, Func<Part> create, Action<Part, UsageEvent> add, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (store is ISettlementEntrySource source)
        {
            // The ledger as of now: entries appended while the export runs are left for the next one.
            long through = await source.GetLastSequenceAsync(cancellationToken).ConfigureAwait(false);
            await foreach (Part part in EventChunks.ReadAsync(source, 0, through, create, add, Environment.ProcessorCount, cancellationToken: cancellationToken).ConfigureAwait(false))
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
    private sealed class Part : IDisposable
    {
        /// <summary>The size past which the sequential path hands a part over.</summary>
        internal const int Full = 1 << 20;

        private readonly StringBuilder _line = new(512);
        private Utf8JsonWriter? _json;

        internal ArrayBufferWriter<byte> Bytes { get; } = new(Full);

        internal long Count { get; set; }

        public void Dispose() => _json?.Dispose();

        internal void Clear()
        {
            Bytes.ResetWrittenCount();
            Count = 0;
        }

        internal void AppendJson(UsageEvent e)
        {
            if (_json is null)
            {
                _json = new Utf8JsonWriter(Bytes, new JsonWriterOptions { SkipValidation = true });
            }
            else
            {
                _json.Reset(Bytes);
            }

            UsageEventJson.Write(_json, e);
            _json.Flush();
            NewLine();
        }

        internal void AppendCsv(UsageEvent e)
        {
            _line.Clear();
            UsageAuditExport.AppendCsv(_line, e);
            foreach (ReadOnlyMemory<char> chunk in _line.GetChunks())
            {
                Bytes.Advance(Encoding.UTF8.GetBytes(chunk.Span, Bytes.GetSpan(Encoding.UTF8.GetMaxByteCount(chunk.Length))));
            }

            NewLine();
        }

        private void NewLine()
        {
            Bytes.GetSpan(1)[0] = (byte)'\n';
            Bytes.Advance(1);
        }
    }

    private static void AppendCsv(StringBuilder line, UsageEvent e)
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        line.Append(e.Id).Append(',');
        line.Append(e.Sequence.ToString(inv)).Append(',');
        line.Append(e.Timestamp.UtcDateTime.ToString("O", inv)).Append(',');
        line.Append(e.AdmittedAt.UtcDateTime.ToString("O", inv)).Append(',');
        Field(line, e.CustomerId);
        Field(line, e.CreditType);
        Field(line, e.Subject);
        Field(line, e.SubjectPath);
        Field(line, e.Feature);
        Field(line, e.Model);
        Field(line, e.AnsweredModel);
        Field(line, e.SessionId);
        Field(line, e.RequestId);
        Field(line, e.ReservationId?.ToString(inv));
        Field(line, e.CatalogVersion);
        TokenUsage? tokens = e.Tokens;
        Field(line, tokens?.InputTokens.ToString(inv));
        Field(line, tokens?.CachedInputTokens.ToString(inv));
        Field(line, tokens?.OutputTokens.ToString(inv));
        Field(line, tokens?.ReasoningTokens.ToString(inv));
        Field(line, e.Estimated ? "true" : "false");
        Field(line, e.Consumed.ToDecimal().ToString(inv));
        Field(line, e.Charged.ToDecimal().ToString(inv));
        Field(line, e.Overdrawn.ToDecimal().ToString(inv));
        Field(line, e.Overage.ToDecimal().ToString(inv));
        Field(line, e.Waived.ToDecimal().ToString(inv));
        var blocks = new StringBuilder();
        foreach (BlockCharge block in e.Blocks)
        {
            blocks.Append(blocks.Length == 0 ? "" : ";").Append(block.BlockId.ToString("D")).Append(':').Append(block.Amount.ToDecimal().ToString(inv));
        }

        Field(line, blocks.ToString());
        Field(line, e.Price?.ToString(inv));
        Field(line, e.VendorCost?.ToString(inv));
        Field(line, e.CostCurrency, last: true);
    }

    /// <summary>Appends one CSV field, quoted when it holds a comma, quote or line break (RFC 4180).</summary>
    private static void Field(StringBuilder line, string? value, bool last = false)
    {
        if (value is not null)
        {
            if (value.AsSpan().IndexOfAny(",\"\r\n") >= 0)
            {
                line.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            }
            else
            {
                line.Append(value);
            }
        }

        if (!last)
        {
            line.Append(',');
        }
    }
}
