using Microsoft.Extensions.AI;

namespace UsageGuard.AI.Tests;

/// <summary>A callback-driven chat client: each test says what a call returns, streams or throws.</summary>
internal sealed class TestChatClient : IChatClient
{
    private int _calls;

    public Func<IEnumerable<ChatMessage>, ChatOptions?, CancellationToken, Task<ChatResponse>>? OnResponse { get; set; }

    public Func<IEnumerable<ChatMessage>, ChatOptions?, CancellationToken, IAsyncEnumerable<ChatResponseUpdate>>? OnStream { get; set; }

    public ChatClientMetadata? Metadata { get; set; }

    public int Calls => Volatile.Read(ref _calls);

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        return (OnResponse ?? throw new InvalidOperationException("No response set up."))(messages, options, cancellationToken);
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        return (OnStream ?? throw new InvalidOperationException("No stream set up."))(messages, options, cancellationToken);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType == typeof(ChatClientMetadata) ? Metadata : null;

    public void Dispose()
    {
    }

    internal static ChatResponse Text(string text, UsageDetails? usage = null, string? model = "m") =>
        new(new ChatMessage(ChatRole.Assistant, text)) { Usage = usage, ModelId = model };

    internal static ChatResponseUpdate Chunk(string text, string? model = "m") => new(ChatRole.Assistant, text) { ModelId = model };

    internal static ChatResponseUpdate UsageChunk(UsageDetails usage) => new() { Contents = [new UsageContent(usage)] };
}
