using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace UsageGuard;

/// <summary>
/// An <see cref="ICatalogSource"/> that polls an HTTP endpoint in the background with <c>If-None-Match</c>, accepts a
/// document only when it is a valid catalog, keeps serving the last good one while the endpoint is down or serves a bad
/// one, and persists each accepted document so that a restart during an outage still serves it.
/// </summary>
/// <remarks>
/// Thread-safe. <see cref="Current"/> is one volatile read; all network and file work runs on the thread pool, one poll
/// at a time: the next poll is scheduled <see cref="HttpCatalogSourceOptions.PollInterval"/> after the previous one ends.
/// </remarks>
internal sealed partial class HttpCatalogSource : ICatalogSource, IAsyncDisposable, IDisposable
{
    private readonly Uri _endpoint;
    private readonly string _endpointForLogs;
    private readonly TimeSpan _pollInterval;
    private readonly TimeSpan _requestTimeout;
    private readonly string? _cacheFile;
    private readonly Action<HttpRequestHeaders>? _configureHeaders;
    private readonly IReadOnlyDictionary<string, int> _scales;
    private readonly HttpMessageInvoker _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stopping = new();
    private CancellationTokenSource _changes = new();
    private CatalogOptions? _current;
    private ITimer? _timer;
    private Task _poll = Task.CompletedTask;
    private bool _disposed;

    // Touched by one poll at a time (polls never overlap, and Start reads the cache before the first poll starts).
    private string? _currentHash;
    private string? _etag;
    private string? _rejectedBodyHash;
    private int _failures;

    /// <summary>Initializes a source; nothing is read or requested until <see cref="Start"/>.</summary>
    /// <param name="options">The options; read once, here.</param>
    /// <param name="creditTypeScales">The configured credit types and their scales, to validate documents with.</param>
    /// <param name="handler">The handler requests go through; the source disposes it.</param>
    /// <param name="time">The clock that schedules polls and times requests out.</param>
    /// <param name="logger">The logger.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option is missing or out of range.</exception>
    internal HttpCatalogSource(HttpCatalogSourceOptions options, IReadOnlyDictionary<string, int> creditTypeScales, HttpMessageHandler handler, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(creditTypeScales);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _endpoint = options.Validate();

        // Scheme, host, port and path only: user info and the query may carry credentials, which logs must not.
        _endpointForLogs = _endpoint.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
        _pollInterval = options.PollInterval;
        _requestTimeout = options.RequestTimeout;
        _cacheFile = options.CacheFile;
        _configureHeaders = options.ConfigureHeaders;
        _scales = creditTypeScales;
        _http = new HttpMessageInvoker(handler, disposeHandler: true);
        _time = time;
        _logger = logger;
    }

    /// <inheritdoc/>
    public CatalogOptions? Current => Volatile.Read(ref _current);

    /// <summary>Gets the poll in flight, or the last one to end (tests await it after moving the clock).</summary>
    internal Task LastPoll
    {
        get
        {
            lock (_gate)
            {
                return _poll;
            }
        }
    }

    /// <inheritdoc/>
    public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _changes).Token);

    /// <summary>The handler a source uses unless the options give one.</summary>
    internal static HttpMessageHandler CreateDefaultHandler() => new SocketsHttpHandler
    {
        // One long-lived client per source: renewing connections is what makes it follow DNS changes.
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        AutomaticDecompression = DecompressionMethods.All,
    };

    /// <summary>Loads the cache file, so that a persisted document serves at once, and starts the first poll in the background; later calls do nothing.</summary>
    /// <exception cref="ObjectDisposedException">The source is disposed.</exception>
    internal void Start()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_timer is not null)
            {
                return;
            }

            LoadCache();
            _timer = _time.CreateTimer(static state => ((HttpCatalogSource)state!).PollAsync(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _poll = Task.Run(PollOnceAsync);
        }
    }

    /// <summary>Starts a poll unless one is in flight; returns the poll in flight (never a second, concurrent one).</summary>
    internal Task PollAsync()
    {
        lock (_gate)
        {
            if (_disposed || _timer is null)
            {
                return Task.CompletedTask;
            }

            if (!_poll.IsCompleted)
            {
                return _poll;
            }

            _poll = Task.Run(PollOnceAsync);
            return _poll;
        }
    }

    /// <summary>Stops polling, waiting for a poll in flight to give up; <see cref="Current"/> stays readable.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Stops polling, waiting for a poll in flight to give up; <see cref="Current"/> stays readable.</summary>
    public async ValueTask DisposeAsync()
    {
        Task poll;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _timer?.Dispose();
            poll = _poll;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await poll.ConfigureAwait(false);
        _http.Dispose();
        _stopping.Dispose();
    }

    /// <summary>Makes a document current and tells the listeners; only valid documents get here.</summary>
    private void Publish(CatalogOptions catalog, string contentHash)
    {
        _currentHash = contentHash;
        Volatile.Write(ref _current, catalog);

        // The new token is in place before the old one fires, so a listener that asks for the next token at once gets it.
        CancellationTokenSource fired = Interlocked.Exchange(ref _changes, new CancellationTokenSource());
        try
        {
            fired.Cancel();
        }
        catch (AggregateException ex)
        {
            LogListenerFailed(_logger, ex);
        }
    }

    private void LoadCache()
    {
        if (_cacheFile is null)
        {
            return;
        }

        CatalogCacheEntry? entry;
        try
        {
            entry = CatalogCacheFile.Read(_cacheFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            LogCacheIgnored(_logger, _cacheFile, ex.Message);
            return;
        }

        if (entry is null)
        {
            return;
        }

        CatalogSnapshot snapshot;
        try
        {
            snapshot = CatalogCompiler.Compile(entry.Catalog, _scales, version: 1);
        }
        catch (CatalogValidationException ex)
        {
            // For example after a credit type's scale changed: the document was good for the configuration that saved it.
            LogCacheIgnored(_logger, _cacheFile, $"its catalog is invalid ({ex.Errors.Count} problems): {string.Join("; ", ex.Errors)}");
            return;
        }

        _etag = entry.ETag;
        Publish(entry.Catalog, snapshot.ContentHash);
        LogCacheLoaded(_logger, _cacheFile, entry.Catalog.Revision, entry.SavedAt, entry.ETag);
    }
}
