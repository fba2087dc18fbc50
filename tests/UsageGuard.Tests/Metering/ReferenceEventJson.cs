using System.Text.Json;

namespace UsageGuard.Tests.Metering;

/// <summary>The event format written through <see cref="Utf8JsonWriter"/>'s own methods: what <see cref="UsageEventJson"/> must equal byte for byte.</summary>
/// <remarks>
/// Amounts are JSON numbers written from <see cref="decimal"/> at the credit type's scale (exact text, never a binary float); instants
/// are ISO 8601 with their offset; absent values are omitted. Names are camelCase. docs/usage-events.md lists every field.
/// </remarks>
internal static class ReferenceEventJson
{
    // Names encoded once: a string name is transcoded and checked for escaping on every write.
    private static readonly JsonEncodedText s_id = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText s_sequence = JsonEncodedText.Encode("sequence");
    private static readonly JsonEncodedText s_timestamp = JsonEncodedText.Encode("timestamp");
    private static readonly JsonEncodedText s_admittedAt = JsonEncodedText.Encode("admittedAt");
    private static readonly JsonEncodedText s_customerId = JsonEncodedText.Encode("customerId");
    private static readonly JsonEncodedText s_creditType = JsonEncodedText.Encode("creditType");
    private static readonly JsonEncodedText s_subject = JsonEncodedText.Encode("subject");
    private static readonly JsonEncodedText s_subjectPath = JsonEncodedText.Encode("subjectPath");
    private static readonly JsonEncodedText s_feature = JsonEncodedText.Encode("feature");
    private static readonly JsonEncodedText s_model = JsonEncodedText.Encode("model");
    private static readonly JsonEncodedText s_answeredModel = JsonEncodedText.Encode("answeredModel");
    private static readonly JsonEncodedText s_sessionId = JsonEncodedText.Encode("sessionId");
    private static readonly JsonEncodedText s_requestId = JsonEncodedText.Encode("requestId");
    private static readonly JsonEncodedText s_reservationId = JsonEncodedText.Encode("reservationId");
    private static readonly JsonEncodedText s_catalogVersion = JsonEncodedText.Encode("catalogVersion");
    private static readonly JsonEncodedText s_tokens = JsonEncodedText.Encode("tokens");
    private static readonly JsonEncodedText s_input = JsonEncodedText.Encode("input");
    private static readonly JsonEncodedText s_cachedInput = JsonEncodedText.Encode("cachedInput");
    private static readonly JsonEncodedText s_output = JsonEncodedText.Encode("output");
    private static readonly JsonEncodedText s_reasoning = JsonEncodedText.Encode("reasoning");
    private static readonly JsonEncodedText s_estimated = JsonEncodedText.Encode("estimated");
    private static readonly JsonEncodedText s_consumed = JsonEncodedText.Encode("consumed");
    private static readonly JsonEncodedText s_charged = JsonEncodedText.Encode("charged");
    private static readonly JsonEncodedText s_overdrawn = JsonEncodedText.Encode("overdrawn");
    private static readonly JsonEncodedText s_overage = JsonEncodedText.Encode("overage");
    private static readonly JsonEncodedText s_waived = JsonEncodedText.Encode("waived");
    private static readonly JsonEncodedText s_blocks = JsonEncodedText.Encode("blocks");
    private static readonly JsonEncodedText s_blockId = JsonEncodedText.Encode("blockId");
    private static readonly JsonEncodedText s_amount = JsonEncodedText.Encode("amount");
    private static readonly JsonEncodedText s_price = JsonEncodedText.Encode("price");
    private static readonly JsonEncodedText s_vendorCost = JsonEncodedText.Encode("vendorCost");
    private static readonly JsonEncodedText s_costCurrency = JsonEncodedText.Encode("costCurrency");

    /// <summary>Writes one event as a JSON object.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="e">The event.</param>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> or <paramref name="e"/> is null.</exception>
    internal static void Write(Utf8JsonWriter writer, UsageEvent e)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(e);
        writer.WriteStartObject();
        writer.WriteString(s_id, e.Id);
        writer.WriteNumber(s_sequence, e.Sequence);
        writer.WriteString(s_timestamp, e.Timestamp);
        writer.WriteString(s_admittedAt, e.AdmittedAt);
        writer.WriteString(s_customerId, e.CustomerId);
        writer.WriteString(s_creditType, e.CreditType);
        Optional(writer, s_subject, e.Subject);
        Optional(writer, s_subjectPath, e.SubjectPath);
        Optional(writer, s_feature, e.Feature);
        Optional(writer, s_model, e.Model);
        Optional(writer, s_answeredModel, e.AnsweredModel);
        Optional(writer, s_sessionId, e.SessionId);
        Optional(writer, s_requestId, e.RequestId);
        if (e.ReservationId is { } reservation)
        {
            writer.WriteNumber(s_reservationId, reservation);
        }

        Optional(writer, s_catalogVersion, e.CatalogVersion);
        if (e.Tokens is { } tokens)
        {
            writer.WriteStartObject(s_tokens);
            writer.WriteNumber(s_input, tokens.InputTokens);
            writer.WriteNumber(s_cachedInput, tokens.CachedInputTokens);
            writer.WriteNumber(s_output, tokens.OutputTokens);
            writer.WriteNumber(s_reasoning, tokens.ReasoningTokens);
            writer.WriteEndObject();
        }

        writer.WriteBoolean(s_estimated, e.Estimated);
        writer.WriteNumber(s_consumed, e.Consumed.ToDecimal());
        writer.WriteNumber(s_charged, e.Charged.ToDecimal());
        writer.WriteNumber(s_overdrawn, e.Overdrawn.ToDecimal());
        writer.WriteNumber(s_overage, e.Overage.ToDecimal());
        writer.WriteNumber(s_waived, e.Waived.ToDecimal());
        writer.WriteStartArray(s_blocks);
        foreach (BlockCharge block in e.Blocks)
        {
            writer.WriteStartObject();
            writer.WriteString(s_blockId, block.BlockId);
            writer.WriteNumber(s_amount, block.Amount.ToDecimal());
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (e.Price is { } price)
        {
            writer.WriteNumber(s_price, price);
        }

        if (e.VendorCost is { } cost)
        {
            writer.WriteNumber(s_vendorCost, cost);
        }

        Optional(writer, s_costCurrency, e.CostCurrency);
        writer.WriteEndObject();
    }

    private static void Optional(Utf8JsonWriter writer, JsonEncodedText name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }
}
