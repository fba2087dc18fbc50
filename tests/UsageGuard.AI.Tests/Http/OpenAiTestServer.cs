using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace UsageGuard.AI.Tests.Http;

/// <summary>
/// A minimal OpenAI-compatible server on 127.0.0.1 and an ephemeral port, speaking HTTP/1.1 over a raw socket: it records every
/// request and answers with <see cref="Respond"/>'s canned JSON or server-sent events, one connection per request.
/// </summary>
internal sealed class OpenAiTestServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly ConcurrentBag<Task> _serving = [];

    private OpenAiTestServer()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>Gets the base address an OpenAI client is pointed at (…/v1).</summary>
    public Uri Endpoint => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/v1/");

    /// <summary>Gets the requests received, in order.</summary>
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>Gets or sets the answer to a request.</summary>
    public Func<RecordedRequest, CannedResponse> Respond { get; set; } = _ => CannedResponse.Json(OpenAiFixtures.Completion());

    /// <summary>Gets a token cancelled when the server stops, for responses that wait on the test.</summary>
    public CancellationToken Stopping => _stop.Token;

    public static OpenAiTestServer Start() => new();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }

        await Task.WhenAll(_serving);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _serving.Add(Task.Run(() => ServeAsync(client)));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                NetworkStream stream = client.GetStream();
                RecordedRequest request = await ReadRequestAsync(stream, _stop.Token);
                Requests.Enqueue(request);
                await WriteAsync(stream, Respond(request), _stop.Token);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away (a broken-off stream) or the server is stopping.
            }
        }
    }

    private static async Task<RecordedRequest> ReadRequestAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || head[^1] != '\n' || head[^2] != '\r' || head[^3] != '\n' || head[^4] != '\r')
        {
            if (await stream.ReadAsync(one, cancellationToken) == 0)
            {
                throw new IOException("The client closed the connection before its request ended.");
            }

            head.Add(one[0]);
        }

        string[] lines = Encoding.ASCII.GetString([.. head]).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        string[] requestLine = lines[0].Split(' ');
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            string name = line[..colon].Trim();
            string value = line[(colon + 1)..].Trim();
            headers[name] = headers.TryGetValue(name, out string? earlier) ? earlier + "," + value : value;
        }

        byte[] body = [];
        if (headers.TryGetValue("Content-Length", out string? length))
        {
            body = new byte[int.Parse(length, CultureInfo.InvariantCulture)];
            await stream.ReadExactlyAsync(body, cancellationToken);
        }
        else if (headers.TryGetValue("Transfer-Encoding", out string? encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = await ReadChunkedAsync(stream, cancellationToken);
        }

        return new RecordedRequest(requestLine[0], requestLine[1], headers, Encoding.UTF8.GetString(body));
    }

    private static async Task<byte[]> ReadChunkedAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var body = new MemoryStream();
        while (true)
        {
            string sizeLine = await ReadLineAsync(stream, cancellationToken);
            int size = int.Parse(sizeLine.Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                await ReadLineAsync(stream, cancellationToken);
                return body.ToArray();
            }

            var chunk = new byte[size];
            await stream.ReadExactlyAsync(chunk, cancellationToken);
            body.Write(chunk);
            await ReadLineAsync(stream, cancellationToken);
        }
    }

    private static async Task<string> ReadLineAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var line = new List<byte>();
        var one = new byte[1];
        while (await stream.ReadAsync(one, cancellationToken) == 1 && one[0] != '\n')
        {
            if (one[0] != '\r')
            {
                line.Add(one[0]);
            }
        }

        return Encoding.ASCII.GetString([.. line]);
    }

    private static async Task WriteAsync(NetworkStream stream, CannedResponse response, CancellationToken cancellationToken)
    {
        if (response.BeforeResponse is { } before)
        {
            await before().WaitAsync(cancellationToken);
        }

        var head = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {response.Status} {(response.Status == 200 ? "OK" : "Error")}\r\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Type: {response.ContentType}\r\n")
            .Append("Connection: close\r\n");
        if (!response.Streamed)
        {
            byte[] body = Encoding.UTF8.GetBytes(string.Concat(response.Chunks));
            head.Append(CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\n\r\n");
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), cancellationToken);
            await stream.WriteAsync(body, cancellationToken);
            return;
        }

        head.Append("Transfer-Encoding: chunked\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), cancellationToken);
        await stream.FlushAsync(cancellationToken);
        for (int i = 0; i < response.Chunks.Count; i++)
        {
            if (response.BeforeChunk is { } wait)
            {
                await wait(i);
            }

            byte[] chunk = Encoding.UTF8.GetBytes(response.Chunks[i]);
            await stream.WriteAsync(Encoding.ASCII.GetBytes(chunk.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), cancellationToken);
            await stream.WriteAsync(chunk, cancellationToken);
            await stream.WriteAsync("\r\n"u8.ToArray(), cancellationToken);
            await stream.FlushAsync(cancellationToken);
        }

        if (response.AbortAfterChunks)
        {
            // No terminating chunk: the client sees the body fail mid-way.
            stream.Socket.LingerState = new LingerOption(true, 0);
            stream.Socket.Close();
            return;
        }

        await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), cancellationToken);
    }
}

/// <summary>One request the server received.</summary>
internal sealed record RecordedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body)
{
    /// <summary>Gets the body as JSON.</summary>
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    /// <summary>Gets a value indicating whether the request asked for the stream's usage (<c>stream_options.include_usage</c>).</summary>
    public bool IncludeUsage => Body.Length > 0 && Json.TryGetProperty("stream_options", out JsonElement o) && o.ValueKind == JsonValueKind.Object
        && o.TryGetProperty("include_usage", out JsonElement u) && u.ValueKind == JsonValueKind.True;
}

/// <summary>An answer: a status, a content type, and the body in chunks (written one by one when streamed).</summary>
internal sealed class CannedResponse
{
    public int Status { get; init; } = 200;

    public string ContentType { get; init; } = "application/json";

    public required IReadOnlyList<string> Chunks { get; init; }

    public bool Streamed { get; init; }

    /// <summary>Gets a wait before anything is written, so that a test can hold a call in flight.</summary>
    public Func<Task>? BeforeResponse { get; init; }

    /// <summary>Gets a wait before chunk i is written, so that a test can hold the stream mid-way.</summary>
    public Func<int, Task>? BeforeChunk { get; init; }

    /// <summary>Gets a value indicating whether the connection is reset after the chunks instead of ending the body.</summary>
    public bool AbortAfterChunks { get; init; }

    public static CannedResponse Json(string body, int status = 200) => new() { Status = status, Chunks = [body] };

    public static CannedResponse Events(IEnumerable<string> events, Func<int, Task>? beforeChunk = null, bool abort = false) =>
        new() { ContentType = "text/event-stream", Streamed = true, Chunks = [.. events.Select(e => $"data: {e}\n\n")], BeforeChunk = beforeChunk, AbortAfterChunks = abort };
}
