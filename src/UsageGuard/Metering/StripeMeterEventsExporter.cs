using System.Globalization;
using System.Net.Http.Headers;

namespace UsageGuard;

/// <summary>
/// A sink shaped like Stripe's billing meter events API: one form-encoded <c>POST v1/billing/meter_events</c> per usage event, with
/// <c>identifier</c> and the <c>Idempotency-Key</c> header set to the event's id, so a delivery sent again is counted once.
/// </summary>
/// <remarks>
/// <para>Fields: <c>event_name</c>, <c>payload[stripe_customer_id]</c>, <c>payload[value]</c>, <c>identifier</c> and <c>timestamp</c>
/// (Unix seconds of the settlement). A response other than 2xx fails the batch at that event; the batch is sent again whole, and events
/// already taken are answered from Stripe's idempotency. A request Stripe refuses for good (an unknown customer, say) is retried until it
/// is fixed, never dropped: the export logs each refusal.</para>
/// <para>Safe to use from one export at a time; the <see cref="HttpClient"/> is the caller's.</para>
/// </remarks>
public sealed class StripeMeterEventsExporter : IUsageExporter
{
    private readonly HttpClient _http;
    private readonly StripeMeterEventsExporterOptions _options;
    private readonly Uri _endpoint;
    private readonly AuthenticationHeaderValue _authorization;

    /// <summary>Initializes a new instance of the <see cref="StripeMeterEventsExporter"/> class.</summary>
    /// <param name="http">The HTTP client.</param>
    /// <param name="options">The options.</param>
    /// <param name="name">The sink's name (names its cursor).</param>
    /// <exception cref="ArgumentNullException"><paramref name="http"/> or <paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">The event name or API key is empty, or the base address is not absolute.</exception>
    public StripeMeterEventsExporter(HttpClient http, StripeMeterEventsExporterOptions options, string name = "stripe")
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (string.IsNullOrWhiteSpace(options.EventName) || options.EventName.Length > 100)
        {
            throw new ArgumentException("StripeMeterEventsExporterOptions.EventName is required (the meter's event_name, at most 100 characters).", nameof(options));
        }

        if (string.IsNullOrWhiteSpace(options.ApiKey))
        {
            throw new ArgumentException("StripeMeterEventsExporterOptions.ApiKey is required.", nameof(options));
        }

        if (options.BaseAddress is not { IsAbsoluteUri: true })
        {
            throw new ArgumentException($"StripeMeterEventsExporterOptions.BaseAddress must be an absolute URL ('{options.BaseAddress}').", nameof(options));
        }

        _http = http;
        _options = options;
        _endpoint = new Uri(options.BaseAddress, "v1/billing/meter_events");
        _authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
        Name = name;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public async ValueTask ExportAsync(IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (UsageEvent e in events)
        {
            string? customer = _options.StripeCustomerId(e);
            decimal value = _options.Value(e);
            if (customer is null || value == 0)
            {
                continue;
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint);
            request.Headers.Authorization = _authorization;
            request.Headers.Add("Idempotency-Key", e.Id);
            request.Content = new FormUrlEncodedContent(
            [
                new("event_name", _options.EventName),
                new("payload[stripe_customer_id]", customer),
                new("payload[value]", value.ToString(CultureInfo.InvariantCulture)),
                new("identifier", e.Id),
                new("timestamp", e.Timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)),
            ]);
            using HttpResponseMessage response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                string detail = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                throw new HttpRequestException($"Stripe answered {(int)response.StatusCode} to the meter event {e.Id} (customer '{customer}'): {detail}", null, response.StatusCode);
            }
        }
    }
}
