using Microsoft.Extensions.AI;
using UsageGuard.AI;

namespace AgentBudget;

/// <summary>
/// Stands in for a model that never decides it is done: every answer asks for one more web search. No network, and the
/// same usage on every run: input tokens counted the way the default estimator counts them (so the hold's input part is
/// exact), canned output token counts, and the dated model id a provider reports.
/// </summary>
internal sealed class ScriptedChatClient : IChatClient
{
    /// <summary>The id the "provider" reports for the model that answered: a dated snapshot, an alias of the catalog's rate.</summary>
    public const string AnsweringModel = "sim-large-2026-05";

    private static readonly int[] s_outputTokens = [212, 187, 240, 198, 225];

    private static readonly string[] s_queries =
    [
        "grid-scale battery storage cost 2025",
        "sodium-ion cycle life field data",
        "iron-air storage pilot results",
        "pumped hydro capacity additions",
        "flow battery degradation studies",
        "battery recycling yield",
    ];

    private readonly ChatClientMetadata _metadata = new("scripted", defaultModelId: Program.Model);

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        List<ChatMessage> history = [.. messages];
        int step = history.Count(m => m.Role == ChatRole.Assistant) + 1;
        string query = s_queries[(step - 1) % s_queries.Length];
        var call = new FunctionCallContent($"call-{step}", CannedSearch.ToolName, new Dictionary<string, object?> { ["query"] = query });
        var answer = new ChatMessage(ChatRole.Assistant, [new TextContent($"Not enough sources yet; searching for \"{query}\"."), call]);
        long input = CharacterTokenEstimator.Instance.EstimateInputTokens(history, options);
        long output = s_outputTokens[(step - 1) % s_outputTokens.Length];
        return Task.FromResult(new ChatResponse(answer)
        {
            ModelId = AnsweringModel,
            FinishReason = ChatFinishReason.ToolCalls,
            Usage = new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output },
        });
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The agent sample does not stream.");

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    public void Dispose()
    {
    }
}
