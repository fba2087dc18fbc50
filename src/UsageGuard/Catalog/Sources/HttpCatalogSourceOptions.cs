using System.Net.Http.Headers;

namespace UsageGuard;

/// <summary>Configures the remote catalog source: which endpoint it polls, how often, and where it persists the last good document.</summary>
/// <remarks>Read once, when the source is registered; changes afterwards have no effect.</remarks>
public sealed class HttpCatalogSourceOptions
{
    /// <summary>Gets or sets the absolute <c>http</c> or <c>https</c> address that serves the catalog document (the JSON form of <see cref="CatalogOptions"/>).</summary>
    /// <value>The default value is <see langword="null"/>, which fails validation: the endpoint is required.</value>
    public Uri? Endpoint { get; set; }

    /// <summary>Gets or sets how long the source waits between the end of one poll and the start of the next.</summary>
    /// <value>The default value is 30 seconds; it must be positive and at most one day.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(UsageGuardDefaults.CatalogPollIntervalSeconds);

    /// <summary>Gets or sets how long one poll waits for the response, body included, before it counts as failed.</summary>
    /// <value>The default value is 10 seconds; it must be positive and at most one day.</value>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(UsageGuardDefaults.CatalogRequestTimeoutSeconds);

    /// <summary>Gets or sets the file where the last good document and its ETag are kept, so that a restart while the endpoint is down still serves it.</summary>
    /// <value>The default value is <see langword="null"/>: nothing is persisted, and a restart serves the statically configured catalog until the endpoint answers.</value>
    /// <remarks>The file is replaced atomically (written beside it, then moved over it); its directory is created when missing.</remarks>
    public string? CacheFile { get; set; }

    /// <summary>Gets or sets a callback that sets headers on every request, for example an <c>Authorization</c> header with a token that may change between polls.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    /// <remarks>Called on a background thread before each poll, never concurrently with itself; an exception it throws fails that poll.</remarks>
    public Action<HttpRequestHeaders>? ConfigureHeaders { get; set; }

    /// <summary>Gets or sets a function that creates the handler requests go through (a proxy, client certificates, a test double); the source disposes it.</summary>
    /// <value>The default value is <see langword="null"/>: a <see cref="SocketsHttpHandler"/> that renews connections every 5 minutes, so DNS changes are followed.</value>
    public Func<HttpMessageHandler>? PrimaryHandler { get; set; }

    /// <summary>Checks the options and returns the endpoint.</summary>
    /// <exception cref="ArgumentException">An option is missing or out of range; the message names it.</exception>
    internal Uri Validate()
    {
        if (Endpoint is null)
        {
            throw new ArgumentException("HttpCatalogSourceOptions.Endpoint is required, e.g. https://config.example.com/catalog.json.", nameof(Endpoint));
        }

        if (!Endpoint.IsAbsoluteUri || (Endpoint.Scheme != Uri.UriSchemeHttp && Endpoint.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"HttpCatalogSourceOptions.Endpoint must be an absolute http or https address; '{Endpoint}' is not.", nameof(Endpoint));
        }

        // A day at most: timers and timeouts take no more than about 49 days, and a catalog polled less than daily is not live.
        if (PollInterval <= TimeSpan.Zero || PollInterval > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(PollInterval), PollInterval, "HttpCatalogSourceOptions.PollInterval must be positive and at most one day.");
        }

        if (RequestTimeout <= TimeSpan.Zero || RequestTimeout > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(RequestTimeout), RequestTimeout, "HttpCatalogSourceOptions.RequestTimeout must be positive and at most one day.");
        }

        if (CacheFile is not null && string.IsNullOrWhiteSpace(CacheFile))
        {
            throw new ArgumentException("HttpCatalogSourceOptions.CacheFile must be a file path, or null for no persistence.", nameof(CacheFile));
        }

        return Endpoint;
    }
}
