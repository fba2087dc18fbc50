using System.Text.Json;
using Microsoft.Extensions.AI;

namespace UsageGuard.AI;

/// <summary>What <see cref="UsageGuardHttpHandler"/> needs of a chat-completions request body: the model, the estimate, and whether it streams.</summary>
internal sealed class ChatCompletionRequest
{
    private static readonly byte[] s_includeUsage = "\"include_usage\":true"u8.ToArray();

    private static readonly JsonElement s_emptySchema = JsonElement.Parse("{}");

    private ChatCompletionRequest(byte[] body, string? model, long inputEstimate, long maxOutputTokens, bool stream)
    {
        Body = body;
        Model = model;
        InputEstimate = inputEstimate;
        MaxOutputTokens = maxOutputTokens;
        Stream = stream;
    }

    /// <summary>Gets the body to send: the one read, or a copy with <c>stream_options.include_usage</c> added.</summary>
    public byte[] Body { get; }

    /// <summary>Gets the requested model, or <see langword="null"/> when the body names none.</summary>
    public string? Model { get; }

    /// <summary>Gets the estimated input tokens.</summary>
    public long InputEstimate { get; }

    /// <summary>Gets the output tokens to hold: the request's limit (or the default) times its number of choices.</summary>
    public long MaxOutputTokens { get; }

    /// <summary>Gets a value indicating whether the request asks for a stream.</summary>
    public bool Stream { get; }

    /// <summary>Reads a request body.</summary>
    /// <param name="body">The UTF-8 JSON body.</param>
    /// <param name="options">The handler's options (the estimator, the default output limit, whether to ask for stream usage).</param>
    /// <returns>What the handler needs.</returns>
    /// <exception cref="InvalidOperationException">The body is not a JSON object: it cannot be priced.</exception>
    public static ChatCompletionRequest Parse(byte[] body, UsageGuardHttpHandlerOptions options)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException("A guarded chat-completions request must have a JSON object as its body; this one could not be read, so it cannot be priced.", e);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidOperationException($"A guarded chat-completions request must have a JSON object as its body, not a {root.ValueKind}.");
            }

            string? model = root.TryGetProperty("model"u8, out JsonElement m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            bool stream = root.TryGetProperty("stream"u8, out JsonElement s) && s.ValueKind == JsonValueKind.True;
            long perChoice = Count(root, "max_completion_tokens"u8) ?? Count(root, "max_tokens"u8) ?? options.DefaultMaxOutputTokens;
            long choices = Math.Max(1, Count(root, "n"u8) ?? 1);
            long input = Math.Max(0, EstimateInput(root, options.TokenEstimator));
            bool usageAsked = root.TryGetProperty("stream_options"u8, out JsonElement streamOptions) && HasIncludeUsage(streamOptions);
            bool addUsage = stream && options.RequestStreamUsage && !usageAsked;
            return new ChatCompletionRequest(addUsage ? WithIncludeUsage(body) : body, model, input, checked(perChoice * choices), stream);
        }
    }

    private static bool HasIncludeUsage(JsonElement streamOptions) =>
        streamOptions.ValueKind == JsonValueKind.Object && streamOptions.TryGetProperty("include_usage"u8, out _);

    private static long? Count(JsonElement root, ReadOnlySpan<byte> name) =>
        root.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long count) && count >= 0 ? count : null;

    /// <summary>Hands the messages and tool definitions to the estimator as Microsoft.Extensions.AI messages and tools.</summary>
    private static long EstimateInput(JsonElement root, ITokenEstimator estimator)
    {
        var messages = new List<ChatMessage>();
        if (root.TryGetProperty("messages"u8, out JsonElement array) && array.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement message in array.EnumerateArray())
            {
                if (message.ValueKind == JsonValueKind.Object)
                {
                    messages.Add(ToChatMessage(message));
                }
            }
        }

        ChatOptions? chatOptions = null;
        if (root.TryGetProperty("tools"u8, out JsonElement tools) && tools.ValueKind == JsonValueKind.Array)
        {
            var declarations = new List<AITool>();
            foreach (JsonElement tool in tools.EnumerateArray())
            {
                if (tool.ValueKind == JsonValueKind.Object && tool.TryGetProperty("function"u8, out JsonElement function) && function.ValueKind == JsonValueKind.Object)
                {
                    string name = Text(function, "name"u8) ?? string.Empty;
                    JsonElement schema = function.TryGetProperty("parameters"u8, out JsonElement p) && p.ValueKind == JsonValueKind.Object ? p : default;
                    declarations.Add(AIFunctionFactory.CreateDeclaration(name, Text(function, "description"u8), schema.ValueKind == JsonValueKind.Object ? schema : s_emptySchema));
                }
            }

            chatOptions = declarations.Count > 0 ? new ChatOptions { Tools = declarations } : null;
        }

        return estimator.EstimateInputTokens(messages, chatOptions);
    }

    private static ChatMessage ToChatMessage(JsonElement message)
    {
        string role = Text(message, "role"u8) ?? "user";
        var contents = new List<AIContent>();
        if (message.TryGetProperty("content"u8, out JsonElement content))
        {
            if (content.ValueKind == JsonValueKind.String)
            {
                contents.Add(new TextContent(content.GetString()));
            }
            else if (content.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement part in content.EnumerateArray())
                {
                    // Text parts only: images, audio and files are priced by the provider in ways no character count approaches.
                    if (part.ValueKind == JsonValueKind.Object && (Text(part, "text"u8) ?? Text(part, "refusal"u8)) is { } text)
                    {
                        contents.Add(new TextContent(text));
                    }
                }
            }
        }

        if (message.TryGetProperty("tool_calls"u8, out JsonElement calls) && calls.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement call in calls.EnumerateArray())
            {
                if (call.ValueKind == JsonValueKind.Object && call.TryGetProperty("function"u8, out JsonElement function) && function.ValueKind == JsonValueKind.Object)
                {
                    contents.Add(ToFunctionCall(Text(call, "id"u8) ?? string.Empty, function));
                }
            }
        }

        if (message.TryGetProperty("function_call"u8, out JsonElement legacy) && legacy.ValueKind == JsonValueKind.Object)
        {
            contents.Add(ToFunctionCall(string.Empty, legacy));
        }

        return new ChatMessage(Role(role), contents);
    }

    private static AIContent ToFunctionCall(string callId, JsonElement function)
    {
        string name = Text(function, "name"u8) ?? string.Empty;
        string? arguments = Text(function, "arguments"u8);
        if (string.IsNullOrEmpty(arguments))
        {
            return new FunctionCallContent(callId, name);
        }

        try
        {
            using JsonDocument parsed = JsonDocument.Parse(arguments);
            if (parsed.RootElement.ValueKind == JsonValueKind.Object)
            {
                var values = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (JsonProperty property in parsed.RootElement.EnumerateObject())
                {
                    values[property.Name] = property.Value.Clone();
                }

                return new FunctionCallContent(callId, name, values);
            }
        }
        catch (JsonException)
        {
            // Arguments that are not a JSON object are still text the model reads.
        }

        return new TextContent(name + arguments);
    }

    private static ChatRole Role(string role) => role switch
    {
        "system" or "developer" => ChatRole.System,
        "user" => ChatRole.User,
        "assistant" => ChatRole.Assistant,
        "tool" or "function" => ChatRole.Tool,
        _ => new ChatRole(role),
    };

    private static string? Text(JsonElement element, ReadOnlySpan<byte> name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>
    /// Adds <c>"include_usage": true</c> to the body's <c>stream_options</c> (creating it, or replacing a <c>null</c>), keeping every
    /// other byte as it was sent.
    /// </summary>
    internal static byte[] WithIncludeUsage(byte[] body)
    {
        var reader = new Utf8JsonReader(body);
        reader.Read();
        bool anyProperty = false;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                byte[] insert = [.. (anyProperty ? ","u8 : []), .. "\"stream_options\":{"u8, .. s_includeUsage, .. "}"u8];
                return Splice(body, (int)reader.TokenStartIndex, 0, insert);
            }

            anyProperty = true;
            bool isStreamOptions = reader.ValueTextEquals("stream_options"u8);
            reader.Read();
            if (!isStreamOptions)
            {
                reader.Skip();
                continue;
            }

            if (reader.TokenType == JsonTokenType.Null)
            {
                return Splice(body, (int)reader.TokenStartIndex, "null".Length, [.. "{"u8, .. s_includeUsage, .. "}"u8]);
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                // Not an object: the provider rejects the request as it is, with its own error; nothing to add to.
                return body;
            }

            int open = (int)reader.TokenStartIndex;
            reader.Read();
            bool empty = reader.TokenType == JsonTokenType.EndObject;
            return Splice(body, open + 1, 0, empty ? s_includeUsage : [.. s_includeUsage, .. ","u8]);
        }

        return body;
    }

    private static byte[] Splice(byte[] body, int at, int remove, ReadOnlySpan<byte> insert)
    {
        var result = new byte[body.Length - remove + insert.Length];
        body.AsSpan(0, at).CopyTo(result);
        insert.CopyTo(result.AsSpan(at));
        body.AsSpan(at + remove).CopyTo(result.AsSpan(at + insert.Length));
        return result;
    }
}
