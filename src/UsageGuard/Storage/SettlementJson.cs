using System.Text.Json;

namespace UsageGuard;

/// <summary>
/// Reads a stored settlement record (<see cref="StoreCodec.EncodeSettlement"/>'s JSON) straight from its UTF-8 bytes: the usage event
/// reads of the stores take this path, several times faster than the serializer's, with repeated strings shared.
/// </summary>
/// <remarks>It accepts what the serializer accepts (the same names, case-sensitive; unknown names skipped) and gives the same record;
/// a test holds the two to each other.</remarks>
internal static class SettlementJson
{
    /// <summary>Decodes a settlement record.</summary>
    /// <exception cref="JsonException">The bytes are not a settlement record.</exception>
    /// <exception cref="ArgumentException">The stored settlement breaks a rule of its values (a scale out of range).</exception>
    internal static SettlementRecord Decode(ReadOnlySpan<byte> utf8, Utf8Strings strings)
    {
        try
        {
            return Read(utf8, strings);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            // A value of the wrong kind or size (the reader's getters throw these): the same failure as the serializer's.
            throw new JsonException($"a settlement record holds a value of the wrong kind ({ex.Message})", ex);
        }
    }

    private static SettlementRecord Read(ReadOnlySpan<byte> utf8, Utf8Strings strings)
    {
        var reader = new Utf8JsonReader(utf8);
        Expect(ref reader, JsonTokenType.StartObject);
        DateTimeOffset admittedAt = default;
        int scale = 0;
        long charged = 0, overdrawn = 0, overage = 0, waived = 0;
        TokenUsage? tokens = null;
        bool estimated = false;
        string? answeredModel = null, subjectPath = null, costCurrency = null;
        decimal? price = null, vendorCost = null;
        while (true)
        {
            Read(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                if (reader.Read())
                {
                    throw new JsonException("a settlement record has content after its end");
                }

                break;
            }

            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                throw Unexpected(reader);
            }

            if (reader.ValueIsEscaped)
            {
                // Never written so, but valid JSON: the serializer unescapes names before matching them.
                return StoreCodec.DecodeSettlement(System.Text.Encoding.UTF8.GetString(utf8));
            }

            ReadOnlySpan<byte> name = reader.ValueSpan;
            Read(ref reader);

            if (name.SequenceEqual("AdmittedAt"u8))
            {
                admittedAt = reader.GetDateTimeOffset();
            }
            else if (name.SequenceEqual("Scale"u8))
            {
                scale = reader.GetInt32();
            }
            else if (name.SequenceEqual("Charged"u8))
            {
                charged = reader.GetInt64();
            }
            else if (name.SequenceEqual("Overdrawn"u8))
            {
                overdrawn = reader.GetInt64();
            }
            else if (name.SequenceEqual("Overage"u8))
            {
                overage = reader.GetInt64();
            }
            else if (name.SequenceEqual("Waived"u8))
            {
                waived = reader.GetInt64();
            }
            else if (name.SequenceEqual("Tokens"u8))
            {
                tokens = ReadTokens(ref reader);
            }
            else if (name.SequenceEqual("Estimated"u8))
            {
                estimated = reader.GetBoolean();
            }
            else if (name.SequenceEqual("AnsweredModel"u8))
            {
                answeredModel = String(ref reader, strings);
            }
            else if (name.SequenceEqual("SubjectPath"u8))
            {
                subjectPath = String(ref reader, strings);
            }
            else if (name.SequenceEqual("Price"u8))
            {
                price = reader.TokenType == JsonTokenType.Null ? null : reader.GetDecimal();
            }
            else if (name.SequenceEqual("VendorCost"u8))
            {
                vendorCost = reader.TokenType == JsonTokenType.Null ? null : reader.GetDecimal();
            }
            else if (name.SequenceEqual("CostCurrency"u8))
            {
                costCurrency = String(ref reader, strings);
            }
            else
            {
                reader.Skip();
            }
        }

        return new SettlementRecord
        {
            AdmittedAt = admittedAt,
            Charged = CreditAmount.FromUnits(charged, scale),
            Overdrawn = CreditAmount.FromUnits(overdrawn, scale),
            Overage = CreditAmount.FromUnits(overage, scale),
            Waived = CreditAmount.FromUnits(waived, scale),
            Tokens = tokens,
            Estimated = estimated,
            AnsweredModel = answeredModel,
            SubjectPath = subjectPath,
            Price = price,
            VendorCost = vendorCost,
            CostCurrency = costCurrency,
        };
    }

    private static TokenUsage? ReadTokens(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Unexpected(reader);
        }

        Span<long> counts = stackalloc long[4];
        int n = 0;
        while (true)
        {
            Read(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                break;
            }

            long count = reader.GetInt64();
            if (n < counts.Length)
            {
                counts[n] = count;
            }

            n++;
        }

        return n == 4 ? new TokenUsage(counts[0], counts[1], counts[2], counts[3]) : throw new JsonException("a settlement's tokens are not four counts");
    }

    private static string? String(ref Utf8JsonReader reader, Utf8Strings strings) => reader.TokenType switch
    {
        JsonTokenType.Null => null,
        JsonTokenType.String when !reader.ValueIsEscaped => strings.Get(reader.ValueSpan),
        JsonTokenType.String => reader.GetString(),
        _ => throw Unexpected(reader),
    };

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        Read(ref reader);
        if (reader.TokenType != type)
        {
            throw Unexpected(reader);
        }
    }

    private static void Read(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new JsonException("a settlement record ends early");
        }
    }

    private static JsonException Unexpected(in Utf8JsonReader reader) => new($"a settlement record has an unexpected {reader.TokenType} at byte {reader.TokenStartIndex}");
}
