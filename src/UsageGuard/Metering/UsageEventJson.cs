using System.Text.Json;

namespace UsageGuard;

/// <summary>Writes a usage event as one JSON object: the format of the JSON Lines sink, the audit export and CloudEvents' <c>data</c>.</summary>
/// <remarks>
/// Amounts are JSON numbers written from <see cref="decimal"/> at the credit type's scale (exact text, never a binary float); instants
/// are ISO 8601 with their offset; absent values are omitted. Names are camelCase. docs/usage-events.md lists every field.
/// </remarks>
public static class UsageEventJson
{
    /// <summary>Writes one event as a JSON object.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="e">The event.</param>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> or <paramref name="e"/> is null.</exception>
    public static void Write(Utf8JsonWriter writer, UsageEvent e)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(e);
        writer.WriteStartObject();
        writer.WriteString("id", e.Id);
        writer.WriteNumber("sequence", e.Sequence);
        writer.WriteString("timestamp", e.Timestamp);
        writer.WriteString("admittedAt", e.AdmittedAt);
        writer.WriteString("customerId", e.CustomerId);
        writer.WriteString("creditType", e.CreditType);
        Optional(writer, "subject", e.Subject);
        Optional(writer, "subjectPath", e.SubjectPath);
        Optional(writer, "feature", e.Feature);
        Optional(writer, "model", e.Model);
        Optional(writer, "answeredModel", e.AnsweredModel);
        Optional(writer, "sessionId", e.SessionId);
        Optional(writer, "requestId", e.RequestId);
        if (e.ReservationId is { } reservation)
        {
            writer.WriteNumber("reservationId", reservation);
        }

        Optional(writer, "catalogVersion", e.CatalogVersion);
        if (e.Tokens is { } tokens)
        {
            writer.WriteStartObject("tokens");
            writer.WriteNumber("input", tokens.InputTokens);
            writer.WriteNumber("cachedInput", tokens.CachedInputTokens);
            writer.WriteNumber("output", tokens.OutputTokens);
            writer.WriteNumber("reasoning", tokens.ReasoningTokens);
            writer.WriteEndObject();
        }

        writer.WriteBoolean("estimated", e.Estimated);
        writer.WriteNumber("consumed", e.Consumed.ToDecimal());
        writer.WriteNumber("charged", e.Charged.ToDecimal());
        writer.WriteNumber("overdrawn", e.Overdrawn.ToDecimal());
        writer.WriteNumber("overage", e.Overage.ToDecimal());
        writer.WriteNumber("waived", e.Waived.ToDecimal());
        writer.WriteStartArray("blocks");
        foreach (BlockCharge block in e.Blocks)
        {
            writer.WriteStartObject();
            writer.WriteString("blockId", block.BlockId);
            writer.WriteNumber("amount", block.Amount.ToDecimal());
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (e.Price is { } price)
        {
            writer.WriteNumber("price", price);
        }

        if (e.VendorCost is { } cost)
        {
            writer.WriteNumber("vendorCost", cost);
        }

        Optional(writer, "costCurrency", e.CostCurrency);
        writer.WriteEndObject();
    }

    private static void Optional(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }
}
