using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace UsageGuard.AI.Tests.Http;

public sealed class ChatCompletionRequestTests
{
    private static ChatCompletionRequest Parse(string json, UsageGuardHttpHandlerOptions? options = null) =>
        ChatCompletionRequest.Parse(Encoding.UTF8.GetBytes(json), options ?? new UsageGuardHttpHandlerOptions());

    [Test]
    public void Parse_EstimatesTheInputAsTheEstimatorDoesForTheSameMessagesAndTools()
    {
        const string Json = """
            {"model":"gpt-test","messages":[
              {"role":"system","content":"You are terse."},
              {"role":"user","content":[{"type":"text","text":"What is in "},{"type":"image_url","image_url":{"url":"https://x/y.png"}},{"type":"text","text":"this picture?"}]},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"cat\",\"n\":3}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"a cat"}],
             "tools":[{"type":"function","function":{"name":"lookup","description":"Looks things up.","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}]}
            """;
        ChatMessage[] same =
        [
            new(ChatRole.System, "You are terse."),
            new(ChatRole.User, [new TextContent("What is in "), new TextContent("this picture?")]),
            new(ChatRole.Assistant, [new FunctionCallContent("call_1", "lookup", new Dictionary<string, object?> { ["q"] = "cat", ["n"] = 3 })]),
            new(ChatRole.Tool, "a cat"),
        ];
        JsonElement schema = JsonDocument.Parse("""{"type":"object","properties":{"q":{"type":"string"}}}""").RootElement;
        var tools = new ChatOptions { Tools = [AIFunctionFactory.CreateDeclaration("lookup", "Looks things up.", schema)] };

        ChatCompletionRequest parsed = Parse(Json);

        parsed.InputEstimate.Should().Be(CharacterTokenEstimator.Instance.EstimateInputTokens(same, tools));
        parsed.InputEstimate.Should().BeGreaterThan(16, "four messages of framing and their text");
        parsed.Model.Should().Be("gpt-test");
        parsed.Stream.Should().BeFalse();
    }

    [Test]
    public void Parse_HandsTheMessagesToACustomEstimator()
    {
        var estimator = new CountingEstimator();

        ChatCompletionRequest parsed = Parse("""{"model":"m","messages":[{"role":"user","content":"abc"},{"role":"assistant","content":"de"}]}""", new UsageGuardHttpHandlerOptions { TokenEstimator = estimator });

        parsed.InputEstimate.Should().Be(5);
        estimator.Seen.Should().Equal("user:abc", "assistant:de");
    }

    [TestCase("""{"model":"m","messages":[],"max_completion_tokens":100,"max_tokens":50}""", 100)]
    [TestCase("""{"model":"m","messages":[],"max_tokens":50}""", 50)]
    [TestCase("""{"model":"m","messages":[]}""", 4_096)]
    [TestCase("""{"model":"m","messages":[],"max_tokens":50,"n":3}""", 150)]
    [TestCase("""{"model":"m","messages":[],"max_tokens":null,"n":0}""", 4_096)]
    public void Parse_HoldsTheOutputLimitPerChoice(string json, long expected) =>
        Parse(json).MaxOutputTokens.Should().Be(expected);

    [TestCase("""{"model":"m","messages":[],"stream":true}""", """{"model":"m","messages":[],"stream":true,"stream_options":{"include_usage":true}}""")]
    [TestCase("""{"model":"m","stream":true,"stream_options":null}""", """{"model":"m","stream":true,"stream_options":{"include_usage":true}}""")]
    [TestCase("""{"model":"m","stream":true,"stream_options":{}}""", """{"model":"m","stream":true,"stream_options":{"include_usage":true}}""")]
    [TestCase("""{"stream":true,"stream_options":{"include_obfuscation":false} , "model":"m" }""", """{"stream":true,"stream_options":{"include_usage":true,"include_obfuscation":false} , "model":"m" }""")]
    [TestCase("{\n  \"model\": \"m\",\n  \"stream\": true\n}\n", "{\n  \"model\": \"m\",\n  \"stream\": true\n,\"stream_options\":{\"include_usage\":true}}\n")]
    public void Parse_StreamWithoutIncludeUsage_AddsItAndKeepsEveryOtherByte(string json, string expected)
    {
        ChatCompletionRequest parsed = Parse(json);

        Encoding.UTF8.GetString(parsed.Body).Should().Be(expected);
        parsed.Stream.Should().BeTrue();
        JsonDocument.Parse(parsed.Body).RootElement.GetProperty("stream_options").GetProperty("include_usage").GetBoolean().Should().BeTrue();
    }

    [TestCase("""{"model":"m","stream":true,"stream_options":{"include_usage":false}}""")]
    [TestCase("""{"model":"m","stream":true,"stream_options":{"include_usage":true}}""")]
    [TestCase("""{"model":"m","stream":false}""")]
    [TestCase("""{"model":"m"}""")]
    public void Parse_LeavesTheBodyAlone_WhenNotStreamingOrTheCallerDecided(string json) =>
        Encoding.UTF8.GetString(Parse(json).Body).Should().Be(json);

    [Test]
    public void Parse_WithRequestStreamUsageOff_LeavesAStreamAlone()
    {
        const string Json = """{"model":"m","stream":true}""";

        Encoding.UTF8.GetString(Parse(Json, new UsageGuardHttpHandlerOptions { RequestStreamUsage = false }).Body).Should().Be(Json);
    }

    [TestCase("not json")]
    [TestCase("[1,2]")]
    [TestCase("")]
    public void Parse_ABodyThatIsNotAJsonObject_Throws(string json)
    {
        Action parse = () => Parse(json);

        parse.Should().Throw<InvalidOperationException>().Which.Message.Should().Contain("JSON");
    }

    private sealed class CountingEstimator : ITokenEstimator
    {
        public List<string> Seen { get; } = [];

        public long EstimateInputTokens(IEnumerable<ChatMessage> messages, ChatOptions? options)
        {
            Seen.AddRange(messages.Select(m => $"{m.Role}:{m.Text}"));
            return Seen.Sum(s => s.Length - s.IndexOf(':', StringComparison.Ordinal) - 1);
        }

        public long EstimateOutputTokens(long characters) => characters;
    }
}
