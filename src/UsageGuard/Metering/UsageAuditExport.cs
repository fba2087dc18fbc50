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
    /// <param name="progress">Told the number of events written so far, every 10,000 events and at the end; or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the export.</param>
    /// <returns>The number of events written.</returns>
    /// <exception cref="ArgumentNullException">An argument other than <paramref name="progress"/> is null.</exception>
    /// <exception cref="ArgumentException">The range ends before it starts.</exception>
    public static async Task<long> WriteCsvAsync(ILedgerStore store, Stream output, UsageAuditFilter filter, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        Check(store, output, filter);
        var writer = new StreamWriter(output, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
        await using (writer.ConfigureAwait(false))
        {
            await writer.WriteLineAsync(CsvHeader).ConfigureAwait(false);
            var line = new StringBuilder(512);
            long count = 0;
            await foreach (UsageEvent e in Select(store, filter, cancellationToken).ConfigureAwait(false))
            {
                line.Clear();
                AppendCsv(line, e);
                await writer.WriteLineAsync(line, cancellationToken).ConfigureAwait(false);
                Report(progress, ++count);
            }

            progress?.Report(count);
            return count;
        }
    }

    /// <summary>Writes the events of a time range as JSON Lines: one <see cref="UsageEventJson"/> object per line.</summary>
    /// <param name="store">The ledger store.</param>
    /// <param name="output">The stream to write to; left open.</param>
    /// <param name="filter">Which events: the time range and, optionally, one customer.</param>
    /// <param name="progress">Told the number of events written so far, every 10,000 events and at the end; or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the export.</param>
    /// <returns>The number of events written.</returns>
    /// <exception cref="ArgumentNullException">An argument other than <paramref name="progress"/> is null.</exception>
    /// <exception cref="ArgumentException">The range ends before it starts.</exception>
    public static async Task<long> WriteJsonLinesAsync(ILedgerStore store, Stream output, UsageAuditFilter filter, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        Check(store, output, filter);
        var buffered = new BufferedStream(output, 1 << 16);
        await using (buffered.ConfigureAwait(false))
        {
            using var writer = new Utf8JsonWriter(buffered, new JsonWriterOptions { SkipValidation = true });
            long count = 0;
            await foreach (UsageEvent e in Select(store, filter, cancellationToken).ConfigureAwait(false))
            {
                UsageEventJson.Write(writer, e);
                writer.Flush();
                writer.Reset();
                buffered.WriteByte((byte)'\n');
                Report(progress, ++count);
            }

            await buffered.FlushAsync(cancellationToken).ConfigureAwait(false);
            progress?.Report(count);
            return count;
        }
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

    private static async IAsyncEnumerable<UsageEvent> Select(ILedgerStore store, UsageAuditFilter filter, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (UsageEvent e in UsageEvents.ReadAsync(store, 0, cancellationToken).ConfigureAwait(false))
        {
            if (e.Timestamp >= filter.From && e.Timestamp < filter.To && (filter.CustomerId is null || string.Equals(e.CustomerId, filter.CustomerId, StringComparison.Ordinal)))
            {
                yield return e;
            }
        }
    }

    private static void Report(IProgress<long>? progress, long count)
    {
        if (progress is not null && count % 10_000 == 0)
        {
            progress.Report(count);
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
