using System.Buffers;
using System.Text.Json;

namespace UsageGuard.AI;

/// <summary>
/// What a chat-completions response reported, read from its JSON body or from its stream's chunks: the answering model, the usage,
/// and the characters of text generated (for the estimate when there is no usage).
/// </summary>
/// <remarks>Not thread-safe: one response fills it, on one thread at a time.</remarks>
internal sealed class CompletionReport
{
    private const int StackCharacters = 256;

    /// <summary>Gets the model that answered (the first one named), or <see langword="null"/>.</summary>
    public string? Model { get; private set; }

    /// <summary>Gets <c>usage.prompt_tokens</c>: all input tokens, cached ones included.</summary>
    public long? PromptTokens { get; private set; }

    /// <summary>Gets <c>usage.completion_tokens</c>: all output tokens, reasoning ones included.</summary>
    public long? CompletionTokens { get; private set; }

    /// <summary>Gets <c>usage.prompt_tokens_details.cached_tokens</c>, a part of <see cref="PromptTokens"/>.</summary>
    public long CachedTokens { get; private set; }

    /// <summary>Gets <c>usage.completion_tokens_details.reasoning_tokens</c>, a part of <see cref="CompletionTokens"/>.</summary>
    public long ReasoningTokens { get; private set; }

    /// <summary>Gets the characters of generated text seen: content, reasoning, refusals and tool-call names and arguments.</summary>
    public long OutputCharacters { get; private set; }

    /// <summary>Gets a value indicating whether a <c>usage</c> object with a prompt or a completion count was seen.</summary>
    public bool HasUsage => PromptTokens is not null || CompletionTokens is not null;

    /// <summary>Gets or sets a value indicating whether the stream's <c>[DONE]</c> marker was seen.</summary>
    public bool Done { get; set; }

    /// <summary>
    /// Reads one JSON document: a whole response (<c>choices[].message</c>) or one stream chunk (<c>choices[].delta</c>). A later
    /// <c>usage</c> object replaces an earlier one: servers that report running totals in every chunk end with the total.
    /// </summary>
    /// <param name="json">The UTF-8 JSON.</param>
    /// <returns><see langword="false"/> when it is not a JSON object (what was read before the fault is kept).</returns>
    public bool Read(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    if (Model is null && reader.TokenType == JsonTokenType.String)
                    {
                        Model = reader.GetString();
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    if (Enter(ref reader, JsonTokenType.StartObject))
                    {
                        ReadUsage(ref reader);
                    }
                }
                else if (reader.ValueTextEquals("choices"u8))
                {
                    if (Enter(ref reader, JsonTokenType.StartArray))
                    {
                        ReadChoices(ref reader);
                    }
                }
                else
                {
                    reader.Skip();
                }
            }

            return true;
        }
        catch (JsonException)
        {
            // A malformed chunk is the caller's to notice; metering goes on with what it has.
            return false;
        }
    }

    private void ReadUsage(ref Utf8JsonReader reader)
    {
        long? prompt = null;
        long? completion = null;
        long cached = 0;
        long reasoning = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("prompt_tokens"u8))
            {
                prompt = Count(ref reader) ?? prompt;
            }
            else if (reader.ValueTextEquals("completion_tokens"u8))
            {
                completion = Count(ref reader) ?? completion;
            }
            else if (reader.ValueTextEquals("prompt_tokens_details"u8))
            {
                cached = Detail(ref reader, "cached_tokens"u8) ?? cached;
            }
            else if (reader.ValueTextEquals("completion_tokens_details"u8))
            {
                reasoning = Detail(ref reader, "reasoning_tokens"u8) ?? reasoning;
            }
            else
            {
                reader.Skip();
            }
        }

        // A usage object without counts (some servers send {} in every chunk) does not erase one that had them.
        if (prompt is not null || completion is not null)
        {
            PromptTokens = prompt;
            CompletionTokens = completion;
            CachedTokens = cached;
            ReasoningTokens = reasoning;
        }
    }

    private void ReadChoices(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("delta"u8) || reader.ValueTextEquals("message"u8))
                {
                    if (Enter(ref reader, JsonTokenType.StartObject))
                    {
                        ReadMessage(ref reader);
                    }
                }
                else
                {
                    reader.Skip();
                }
            }
        }
    }

    private void ReadMessage(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            // reasoning_content and reasoning: what OpenAI-compatible servers of reasoning models stream the thinking in.
            if (reader.ValueTextEquals("content"u8) || reader.ValueTextEquals("refusal"u8)
                || reader.ValueTextEquals("reasoning_content"u8) || reader.ValueTextEquals("reasoning"u8))
            {
                reader.Read();
                OutputCharacters += Characters(ref reader);
            }
            else if (reader.ValueTextEquals("tool_calls"u8))
            {
                if (!Enter(ref reader, JsonTokenType.StartArray))
                {
                    continue;
                }

                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        ReadToolCall(ref reader);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
            else if (reader.ValueTextEquals("function_call"u8))
            {
                if (Enter(ref reader, JsonTokenType.StartObject))
                {
                    ReadFunction(ref reader);
                }
            }
            else
            {
                reader.Skip();
            }
        }
    }

    private void ReadToolCall(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("function"u8))
            {
                if (Enter(ref reader, JsonTokenType.StartObject))
                {
                    ReadFunction(ref reader);
                }
            }
            else
            {
                reader.Skip();
            }
        }
    }

    private void ReadFunction(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8) || reader.ValueTextEquals("arguments"u8))
            {
                reader.Read();
                OutputCharacters += Characters(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }
    }

    /// <summary>Moves to a property's value: true when it opens the object or array expected; otherwise skips it whole and returns false.</summary>
    private static bool Enter(ref Utf8JsonReader reader, JsonTokenType start)
    {
        reader.Read();
        if (reader.TokenType == start)
        {
            return true;
        }

        reader.Skip();
        return false;
    }

    /// <summary>Reads a count, or null for anything that is not a whole number of zero or more.</summary>
    private static long? Count(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long value) && value >= 0)
        {
            return value;
        }

        reader.Skip();
        return null;
    }

    /// <summary>Reads one count of a details object (<c>prompt_tokens_details</c>, <c>completion_tokens_details</c>).</summary>
    private static long? Detail(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        if (!Enter(ref reader, JsonTokenType.StartObject))
        {
            return null;
        }

        long? found = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(name))
            {
                found = Count(ref reader) ?? found;
            }
            else
            {
                reader.Skip();
            }
        }

        return found;
    }

    /// <summary>The UTF-16 length of a string value (what the estimator counts), without allocating it; zero for anything else.</summary>
    private static int Characters(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return 0;
        }

        // The unescaped UTF-16 length never exceeds the escaped UTF-8 length: every character takes at least as many bytes as
        // UTF-16 code units, and an escape is longer than what it stands for.
        int bound = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        if (bound <= StackCharacters)
        {
            Span<char> text = stackalloc char[StackCharacters];
            return reader.CopyString(text);
        }

        char[] rented = ArrayPool<char>.Shared.Rent(bound);
        try
        {
            return reader.CopyString(rented);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }
}
