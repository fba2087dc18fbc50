using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace UsageGuard;

/// <summary>Writes a usage event as one JSON object: the format of the JSON Lines sink, the audit export and CloudEvents' <c>data</c>.</summary>
/// <remarks>
/// <para>Amounts are JSON numbers written from their exact units at the credit type's scale (never a binary float); instants are
/// ISO 8601 with their offset; absent values are omitted. Names are camelCase. docs/usage-events.md lists every field.</para>
/// <para>The object is formatted straight as UTF-8 (its shape is fixed: names are literals, and a string needs escaping only when it
/// holds a character <see cref="System.Text.Encodings.Web.JavaScriptEncoder"/> escapes), byte for byte what <see cref="Utf8JsonWriter"/> writes with its default
/// options; a test holds the two to each other. The audit export formats an event in about a third of the writer's time.</para>
/// </remarks>
public static class UsageEventJson
{
    // What a JSON string may hold unescaped under the default encoder: printable ASCII but the quote, the backslash and the
    // characters it escapes for HTML (< > & ' + `).
    private static readonly SearchValues<char> s_plain = SearchValues.Create(
        " !#$%()*,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz{|}~");

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    /// <summary>Writes one event as a JSON object.</summary>
    /// <remarks>The object is written as one raw value: compact, escaped as the default encoder escapes, whatever the writer's
    /// <see cref="JsonWriterOptions.Indented"/> or <see cref="JsonWriterOptions.Encoder"/> say. One event is one line of JSON Lines
    /// and one CloudEvents <c>data</c>, byte for byte the same wherever it is written.</remarks>
    /// <param name="writer">The writer.</param>
    /// <param name="e">The event.</param>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> or <paramref name="e"/> is null.</exception>
    public static void Write(Utf8JsonWriter writer, UsageEvent e)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(e);
        ArrayBufferWriter<byte> buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        WriteUtf8(buffer, e);
        writer.WriteRawValue(buffer.WrittenSpan, skipInputValidation: true);
    }

    /// <summary>Appends one event as a JSON object, UTF-8, to <paramref name="output"/>.</summary>
    /// <remarks>Asks the writer once for room for the longest form the event can take, writes into it, and advances once.</remarks>
    internal static void WriteUtf8(IBufferWriter<byte> output, UsageEvent e)
    {
        Span<byte> span = output.GetSpan(MaxLength(e));
        var json = new Utf8Object(span);
        json.String("{\"id\":"u8, e.Id);
        json.Number(",\"sequence\":"u8, e.Sequence);
        json.Instant(",\"timestamp\":"u8, e.Timestamp);
        json.Instant(",\"admittedAt\":"u8, e.AdmittedAt);
        json.String(",\"customerId\":"u8, e.CustomerId);
        json.String(",\"creditType\":"u8, e.CreditType);
        json.String(",\"subject\":"u8, e.Subject);
        json.String(",\"subjectPath\":"u8, e.SubjectPath);
        json.String(",\"feature\":"u8, e.Feature);
        json.String(",\"model\":"u8, e.Model);
        json.String(",\"answeredModel\":"u8, e.AnsweredModel);
        json.String(",\"sessionId\":"u8, e.SessionId);
        json.String(",\"requestId\":"u8, e.RequestId);
        if (e.ReservationId is { } reservation)
        {
            json.Number(",\"reservationId\":"u8, reservation);
        }

        json.String(",\"catalogVersion\":"u8, e.CatalogVersion);
        if (e.Tokens is { } tokens)
        {
            json.Number(",\"tokens\":{\"input\":"u8, tokens.InputTokens);
            json.Number(",\"cachedInput\":"u8, tokens.CachedInputTokens);
            json.Number(",\"output\":"u8, tokens.OutputTokens);
            json.Number(",\"reasoning\":"u8, tokens.ReasoningTokens);
            json.Raw("}"u8);
        }

        json.Raw(e.Estimated ? ",\"estimated\":true"u8 : ",\"estimated\":false"u8);
        json.Amount(",\"consumed\":"u8, e.Consumed);
        json.Amount(",\"charged\":"u8, e.Charged);
        json.Amount(",\"overdrawn\":"u8, e.Overdrawn);
        json.Amount(",\"overage\":"u8, e.Overage);
        json.Amount(",\"waived\":"u8, e.Waived);
        json.Raw(",\"blocks\":["u8);
        for (int i = 0; i < e.Blocks.Count; i++)
        {
            BlockCharge block = e.Blocks[i];
            json.Guid(i == 0 ? "{\"blockId\":"u8 : ",{\"blockId\":"u8, block.BlockId);
            json.Amount(",\"amount\":"u8, block.Amount);
            json.Raw("}"u8);
        }

        json.Raw("]"u8);
        if (e.Price is { } price)
        {
            json.Number(",\"price\":"u8, price);
        }

        if (e.VendorCost is { } cost)
        {
            json.Number(",\"vendorCost\":"u8, cost);
        }

        json.String(",\"costCurrency\":"u8, e.CostCurrency);
        json.Raw("}"u8);
        output.Advance(json.Written);
    }

    /// <summary>The most bytes <see cref="WriteUtf8"/> can write for an event.</summary>
    /// <remarks>
    /// The names, numbers, instants and amounts take under 1 KB (the longest number is 31 characters, an instant 35); a block under 128
    /// bytes; a string at most 6 bytes a character (<c>\uXXXX</c>; a surrogate pair is two such escapes) and its quotes.
    /// </remarks>
    private static int MaxLength(UsageEvent e)
    {
        long length = 1_024 + (128L * e.Blocks.Count) + e.MaxTextBytes(bytesPerCharacter: 6, bytesPerField: 2);
        return length <= Array.MaxLength ? (int)length : throw new InvalidOperationException($"Usage event {e.Sequence} is too large to write as JSON.");
    }

    /// <summary>Writes the parts of one JSON object into a span long enough for all of them: each call writes a name (given with its separator) and a value.</summary>
    private ref struct Utf8Object(Span<byte> span)
    {
        private readonly Span<byte> _span = span;
        private int _written;

        public readonly int Written => _written;

        public void Raw(ReadOnlySpan<byte> utf8)
        {
            utf8.CopyTo(_span[_written..]);
            _written += utf8.Length;
        }

        /// <summary>Writes the name and a string value; writes nothing for a null one (absent values are omitted).</summary>
        public void String(ReadOnlySpan<byte> name, string? value)
        {
            if (value is null)
            {
                return;
            }

            Raw(name);
            _span[_written++] = (byte)'"';
            if (!value.AsSpan().ContainsAnyExcept(s_plain))
            {
                System.Text.Ascii.FromUtf16(value, _span[_written..], out int written);
                _written += written;
            }
            else
            {
                // Rare: a quote, a backslash, an HTML-sensitive or non-ASCII character; escaped exactly as the default encoder does.
                // Through UTF-8 first, as the writer does: a lone surrogate becomes U+FFFD rather than an exception.
                Raw(JsonEncodedText.Encode(Encoding.UTF8.GetBytes(value)).EncodedUtf8Bytes);
            }

            _span[_written++] = (byte)'"';
        }

        public void Number<T>(ReadOnlySpan<byte> name, T value)
            where T : IUtf8SpanFormattable
        {
            Raw(name);
            value.TryFormat(_span[_written..], out int written, default, CultureInfo.InvariantCulture);
            _written += written;
        }

        public void Amount(ReadOnlySpan<byte> name, CreditAmount amount)
        {
            Raw(name);
            _written += FixedPoint.FormatUtf8(amount.Units, amount.Scale, _span[_written..]);
        }

        public void Guid(ReadOnlySpan<byte> name, Guid value)
        {
            Raw(name);
            _span[_written++] = (byte)'"';
            value.TryFormat(_span[_written..], out int written, "D");
            _written += written;
            _span[_written++] = (byte)'"';
        }

        /// <summary>Writes an instant as the JSON writer does: ISO 8601 with its offset, the fraction's trailing zeros trimmed.</summary>
        public void Instant(ReadOnlySpan<byte> name, DateTimeOffset value)
        {
            Raw(name);
            _span[_written++] = (byte)'"';
            Span<byte> text = _span[_written..];
            value.TryFormat(text, out int written, "O", CultureInfo.InvariantCulture);

            // "O" writes yyyy-MM-ddTHH:mm:ss.fffffff+hh:mm: the fraction is the 7 digits after position 20.
            int fractionEnd = 27;
            int end = fractionEnd;
            while (end > 20 && text[end - 1] == (byte)'0')
            {
                end--;
            }

            if (end == 20)
            {
                end = 19;
            }

            text[fractionEnd..written].CopyTo(text[end..]);
            _written += written - (fractionEnd - end);
            _span[_written++] = (byte)'"';
        }
    }
}
