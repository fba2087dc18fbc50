using System.Text;
using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.AI.Tests.Http;

public sealed class CompletionReportTests
{
    private static CompletionReport Read(params string[] documents)
    {
        var report = new CompletionReport();
        foreach (string json in documents)
        {
            report.Read(Encoding.UTF8.GetBytes(json));
        }

        return report;
    }

    [Test]
    public void Read_Completion_TakesTheModelTheUsageAndTheText()
    {
        CompletionReport report = Read(OpenAiFixtures.Completion(model: "gpt-test-2026-01-01", content: "Hello there"));

        report.Model.Should().Be("gpt-test-2026-01-01");
        (report.PromptTokens, report.CachedTokens, report.CompletionTokens, report.ReasoningTokens).Should().Be((1_000L, 200L, 500L, 100L));
        report.OutputCharacters.Should().Be("Hello there".Length);
        report.HasUsage.Should().BeTrue();
    }

    [Test]
    public void ToTokenUsage_SubtractsCachedFromInputAndReasoningFromOutput()
    {
        CompletionReport report = Read(OpenAiFixtures.Completion());

        GuardedHttpCall.ToTokenUsage(report, inputEstimate: 7, outputEstimate: 3).Should().Be(new TokenUsage(800, 200, 400, 100));
    }

    [Test]
    public void ToTokenUsage_MissingCounts_AreEstimated_AndDetailsNeverExceedTheirTotal()
    {
        CompletionReport onlyPrompt = Read("""{"usage":{"prompt_tokens":10,"prompt_tokens_details":{"cached_tokens":50}}}""");

        onlyPrompt.HasUsage.Should().BeTrue();
        GuardedHttpCall.ToTokenUsage(onlyPrompt, inputEstimate: 7, outputEstimate: 3).Should().Be(new TokenUsage(0, 10, 3, 0));
    }

    [Test]
    public void Read_Chunks_CountTextReasoningRefusalsAndToolCalls_AndTheLastUsageWithCountsWins()
    {
        CompletionReport report = Read(
            """{"model":"m-1","choices":[{"index":0,"delta":{"role":"assistant","content":"ab"}}],"usage":null}""",
            """{"model":"m-2","choices":[{"index":0,"delta":{"reasoning_content":"think"}},{"index":1,"delta":{"refusal":"no"}}]}""",
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}""",
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]}""",
            """{"choices":[],"usage":{"prompt_tokens":40,"completion_tokens":20,"completion_tokens_details":{"reasoning_tokens":5}}}""",
            """{"choices":[],"usage":{}}""");

        report.Model.Should().Be("m-1", "the first model named answers");
        report.OutputCharacters.Should().Be("ab".Length + "think".Length + "no".Length + "f".Length + "{\"a\":".Length + "1}".Length);
        (report.PromptTokens, report.CompletionTokens, report.ReasoningTokens, report.CachedTokens).Should().Be((40L, 20L, 5L, 0L));
    }

    [Test]
    public void Read_CountsUtf16CharactersOfEscapedAndLongText()
    {
        string longText = new('x', 1_000);

        CompletionReport report = Read(
            """{"choices":[{"delta":{"content":"a\nb\u00e9\ud83d\ude00"}}]}""",
            $$$"""{"choices":[{"delta":{"content":"{{{longText}}}"}}]}""",
            """{"choices":[{"delta":{"content":"é😀"}}]}""");

        report.OutputCharacters.Should().Be("a\nbé😀".Length + longText.Length + "é😀".Length);
    }

    [TestCase("not json")]
    [TestCase("""{"choices":[{"delta":{"content":"ab""")]
    [TestCase("[]")]
    [TestCase("""{"usage":"none","choices":{"x":1},"model":7}""")]
    [TestCase("""{"usage":{"prompt_tokens":-3,"completion_tokens":1.5,"prompt_tokens_details":null}}""")]
    public void Read_MalformedOrUnexpectedShapes_AreSkippedWithoutThrowing(string json)
    {
        CompletionReport report = Read(json);

        report.HasUsage.Should().BeFalse();
        report.Model.Should().BeNull();
    }
}
