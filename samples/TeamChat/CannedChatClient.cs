using Microsoft.Extensions.AI;
using UsageGuard.AI;

namespace TeamChat;

/// <summary>
/// Stands in for a chat model: canned answers, no network, the same usage on every run. Input tokens are counted the way the
/// default estimator counts them (so the hold's input part is exact); output tokens are canned per answer.
/// </summary>
internal sealed class CannedChatClient : IChatClient
{
    private static readonly (string Text, int Tokens)[] s_answers =
    [
        ("Here is a draft with three options and their trade-offs.", 640),
        ("The short answer is yes; the details are below.", 410),
        ("I rewrote the section and kept your headings.", 720),
        ("Here are the steps, with a check after each one.", 530),
    ];

    private readonly ChatClientMetadata _metadata = new("canned", defaultModelId: Program.Model);
    private int _calls;

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        (string text, int tokens) = s_answers[(Interlocked.Increment(ref _calls) - 1) % s_answers.Length];
        long input = CharacterTokenEstimator.Instance.EstimateInputTokens(messages, options);
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text))
        {
            ModelId = Program.Model,
            FinishReason = ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = input, OutputTokenCount = tokens, TotalTokenCount = input + tokens },
        });
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The team chat sample does not stream.");

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
