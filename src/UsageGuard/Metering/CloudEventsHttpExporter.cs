using System.Net.Http.Headers;
using System.Text.Json;

namespace UsageGuard;

/// <summary>
/// A sink that POSTs each batch of usage events to an HTTP endpoint as CloudEvents 1.0 in batched JSON mode
/// (<c>application/cloudevents-batch+json</c>): one CloudEvent per usage event, its <c>id</c> the event's id.
/// </summary>
/// <remarks>
/// <para>Each CloudEvent has <c>type</c> <see cref="EventType"/>, the configured <c>source</c>, <c>subject</c> the customer id,
/// <c>time</c> the settlement's instant and <c>data</c> the <see cref="UsageEventJson"/> object. A response other than 2xx (or no
/// response) fails the batch, which is sent again whole: the receiver deduplicates by <c>source</c> + <c>id</c>, as CloudEvents asks.</para>
/// <para>Safe to use from one export at a time; the <see cref="HttpClient"/> is the caller's, and stays theirs to dispose.</para>
/// </remarks>
public sealed class CloudEventsHttpExporter : IUsageExporter
{
    /// <summary>The CloudEvents <c>type</c> of a usage event.</summary>
    public const string EventType = "dev.usageguard.usage.settled";

    private static readonly MediaTypeHeaderValue s_contentType = new("application/cloudevents-batch+json");
    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly string _source;

    /// <summary>Initializes a new instance of the <see cref="CloudEventsHttpExporter"/> class.</summary>
    /// <param name="http">The HTTP client.</param>
    /// <param name="endpoint">The absolute URL the batches are POSTed to.</param>
    /// <param name="source">The CloudEvents <c>source</c>: a URI reference that names this product or instance, such as <c>/usageguard/prod</c>.</param>
    /// <param name="name">The sink's name (names its cursor).</param>
    /// <exception cref="ArgumentNullException"><paramref name="http"/> or <paramref name="endpoint"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="endpoint"/> is not absolute, or <paramref name="source"/> or <paramref name="name"/> is empty.</exception>
    public CloudEventsHttpExporter(HttpClient http, Uri endpoint, string source, string name = "cloudevents")
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!endpoint.IsAbsoluteUri)
        {
            throw new ArgumentException($"The CloudEvents endpoint must be an absolute URL ('{endpoint}').", nameof(endpoint));
        }

        _http = http;
        _endpoint = endpoint;
        _source = source;
        Name = name;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public async ValueTask ExportAsync(IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        using var body = new MemoryStream();
        using (var writer = new Utf8JsonWriter(body))
        {
            writer.WriteStartArray();
            foreach (UsageEvent e in events)
            {
                writer.WriteStartObject();
                writer.WriteString("specversion", "1.0");
                writer.WriteString("id", e.Id);
                writer.WriteString("source", _source);
                writer.WriteString("type", EventType);
                writer.WriteString("subject", e.CustomerId);
                writer.WriteString("time", e.Timestamp);
                writer.WriteString("datacontenttype", "application/json");
                writer.WritePropertyName("data");
                UsageEventJson.Write(writer, e);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        using var content = new ByteArrayContent(body.GetBuffer(), 0, (int)body.Length);
        content.Headers.ContentType = s_contentType;
        using HttpResponseMessage response = await _http.PostAsync(_endpoint, content, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"The CloudEvents endpoint {_endpoint} answered {(int)response.StatusCode} {response.ReasonPhrase} to a batch of {events.Count} usage events; the batch will be sent again.", null, response.StatusCode);
        }
    }
}
