using System.Text.Json;

namespace UsageGuard.AI.Tests.Http;

/// <summary>Canned OpenAI chat-completions bodies, shaped as the API sends them.</summary>
internal static class OpenAiFixtures
{
    /// <summary>The usage every canned answer reports: 1,000 prompt tokens (200 of them cached), 500 completion tokens (100 of them reasoning).</summary>
    public const string Usage = """{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":200,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":100,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}""";

    public static string Completion(string model = "gpt-test", string content = "Hello there", string? usage = Usage) =>
        $$"""{"id":"chatcmpl-1","object":"chat.completion","created":1767225600,"model":"{{model}}","choices":[{"index":0,"message":{"role":"assistant","content":{{JsonSerializer.Serialize(content)}},"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{{usage ?? "null"}},"service_tier":"default","system_fingerprint":"fp_test"}""";

    /// <summary>The events of a streamed answer: a role chunk, one chunk per text piece, a finish chunk, the usage chunk (when asked and given), and <c>[DONE]</c>.</summary>
    public static IReadOnlyList<string> Stream(IReadOnlyList<string> pieces, bool includeUsage, string model = "gpt-test", string usage = Usage, bool done = true)
    {
        string nullUsage = includeUsage ? ""","usage":null""" : string.Empty;
        var events = new List<string>
        {
            Chunk(model, """{"role":"assistant","content":"","refusal":null}""", "null") + Close(nullUsage),
        };
        events.AddRange(pieces.Select(p => Chunk(model, $$"""{"content":{{JsonSerializer.Serialize(p)}}}""", "null") + Close(nullUsage)));
        events.Add(Chunk(model, "{}", "\"stop\"") + Close(nullUsage));
        if (includeUsage)
        {
            events.Add($$"""{"id":"chatcmpl-2","object":"chat.completion.chunk","created":1767225600,"model":"{{model}}","system_fingerprint":"fp_test","choices":[],"usage":{{usage}}}""");
        }

        if (done)
        {
            events.Add("[DONE]");
        }

        return events;
    }

    public static string Error(string message = "The server had an error while processing your request.") =>
        $$$"""{"error":{"message":"{{{message}}}","type":"server_error","param":null,"code":null}}""";

    private static string Chunk(string model, string delta, string finish) =>
        $$"""{"id":"chatcmpl-2","object":"chat.completion.chunk","created":1767225600,"model":"{{model}}","system_fingerprint":"fp_test","choices":[{"index":0,"delta":{{delta}},"logprobs":null,"finish_reason":{{finish}}}]""";

    private static string Close(string nullUsage) => nullUsage + "}";
}
