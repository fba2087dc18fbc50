using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace UsageGuard.Tests.Catalog.Sources;

/// <summary>An HTTP handler whose answers a test gives as a callback; it records what each request asked for.</summary>
internal sealed class TestHttpHandler(Func<TestHttpHandler.Request, CancellationToken, Task<HttpResponseMessage>> respond) : HttpMessageHandler
{
    private readonly Lock _gate = new();
    private readonly List<Request> _requests = [];

    /// <summary>Answers every request the same way.</summary>
    public TestHttpHandler(Func<HttpResponseMessage> respond)
        : this((_, _) => Task.FromResult(respond()))
    {
    }

    public IReadOnlyList<Request> Requests
    {
        get
        {
            lock (_gate)
            {
                return _requests.ToArray();
            }
        }
    }

    public bool Disposed { get; private set; }

    public static HttpResponseMessage Json(string body, string? etag)
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (etag is not null)
        {
            response.Headers.ETag = EntityTagHeaderValue.Parse(etag);
        }

        return response;
    }

    public static HttpResponseMessage Status(HttpStatusCode status) => new(status);

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // Read now: the source disposes the request when the poll ends.
        var recorded = new Request(
            request.Method,
            request.RequestUri,
            request.Headers.IfNoneMatch.Count == 0 ? null : request.Headers.IfNoneMatch.ToString(),
            request.Headers.Authorization?.ToString());
        int index;
        lock (_gate)
        {
            _requests.Add(recorded);
            index = _requests.Count;
        }

        return respond(recorded with { Number = index }, cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        Disposed = true;
        base.Dispose(disposing);
    }

    /// <summary>What one request asked for; <see cref="Number"/> counts from 1.</summary>
    public sealed record Request(HttpMethod Method, Uri? Uri, string? IfNoneMatch, string? Authorization)
    {
        public int Number { get; init; }
    }
}
