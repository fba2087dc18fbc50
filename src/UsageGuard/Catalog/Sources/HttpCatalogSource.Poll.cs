using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;

namespace UsageGuard;

/// <content>One poll: request, then accept, reject or wait for the next poll.</content>
internal sealed partial class HttpCatalogSource
{
    /// <summary>The largest document accepted, in bytes (16 MiB): a catalog is a few kilobytes to a few megabytes.</summary>
    internal const int MaxDocumentBytes = 16 * 1024 * 1024;

    /// <summary>Runs one poll and schedules the next; never throws, because nothing awaits a timer's poll.</summary>
    private async Task PollOnceAsync()
    {
        try
        {
            await FetchAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Disposed mid-poll: nothing to report.
        }
        catch (Exception ex)
        {
            // A background poll has no caller to throw to; whatever failed, the last good catalog keeps serving.
            Failed(ex.Message, ex);
        }
        finally
        {
            lock (_gate)
            {
                // Scheduled from the end of this poll, not on a fixed period: a slow endpoint can never make polls overlap.
                if (!_disposed)
                {
                    _timer!.Change(_pollInterval, Timeout.InfiniteTimeSpan);
                }
            }
        }
    }

    private async Task FetchAsync()
    {
        byte[] body;
        string? etag;
        using (var timeout = new CancellationTokenSource(_requestTimeout, _time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stopping.Token))
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, _endpoint);
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
                if (_etag is not null && EntityTagHeaderValue.TryParse(_etag, out EntityTagHeaderValue? sent))
                {
                    request.Headers.IfNoneMatch.Add(sent);
                }

                _configureHeaders?.Invoke(request.Headers);
                using HttpResponseMessage response = await _http.SendAsync(request, linked.Token).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.NotModified)
                {
                    Answered();
                    return;
                }

                if (!response.IsSuccessStatusCode)
                {
                    Failed($"it answered {(int)response.StatusCode} {response.ReasonPhrase}", null);
                    return;
                }

                // Buffered with a bound: a misconfigured endpoint that streams something huge fails the poll, not the process.
                await response.Content.LoadIntoBufferAsync(MaxDocumentBytes, linked.Token).ConfigureAwait(false);
                body = await response.Content.ReadAsByteArrayAsync(linked.Token).ConfigureAwait(false);
                etag = response.Headers.ETag?.ToString();
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !_stopping.IsCancellationRequested)
            {
                Failed($"no response within {_requestTimeout}", null);
                return;
            }
            catch (HttpRequestException ex)
            {
                Failed(ex.Message, ex);
                return;
            }
        }

        Answered();
        await AcceptAsync(body, etag).ConfigureAwait(false);
    }

    /// <summary>Accepts a document that parses and validates; otherwise logs why (once per distinct document) and changes nothing.</summary>
    private async Task AcceptAsync(byte[] body, string? etag)
    {
        string bodyHash = Convert.ToHexStringLower(SHA256.HashData(body));
        if (bodyHash == _rejectedBodyHash)
        {
            // The bad document again (an endpoint that ignores If-None-Match, or sends no ETag): logged once is enough.
            _etag = etag;
            return;
        }

        CatalogOptions? catalog;
        try
        {
            catalog = JsonSerializer.Deserialize(body, CatalogJson.Default.CatalogOptions);
        }
        catch (JsonException ex)
        {
            Reject(bodyHash, etag, [$"the document is not a catalog in JSON: {ex.Message}"]);
            return;
        }

        if (catalog is null)
        {
            Reject(bodyHash, etag, ["the document is null"]);
            return;
        }

        CatalogSnapshot snapshot;
        try
        {
            snapshot = CatalogCompiler.Compile(catalog, _scales, version: 1);
        }
        catch (CatalogValidationException ex)
        {
            Reject(bodyHash, etag, ex.Errors);
            return;
        }

        _rejectedBodyHash = null;
        bool etagChanged = etag != _etag;
        _etag = etag;
        if (snapshot.ContentHash == _currentHash)
        {
            // The same catalog (an endpoint without ETags, or a new ETag for equal content): no change to announce,
            // but a new ETag is persisted so that a restart asks with it.
            if (etagChanged)
            {
                await PersistAsync(catalog, etag).ConfigureAwait(false);
            }

            return;
        }

        LogAccepted(_logger, _endpointForLogs, catalog.Revision, snapshot.ContentHash, etag);

        // Persisted before it is announced: a listener that fails cannot keep it from surviving a restart.
        await PersistAsync(catalog, etag).ConfigureAwait(false);
        Publish(catalog, snapshot.ContentHash);
    }

    private void Reject(string bodyHash, string? etag, IReadOnlyList<string> errors)
    {
        // Its ETag is sent from now on, so the endpoint answers 304 until the document changes, and it is not reported again.
        _rejectedBodyHash = bodyHash;
        _etag = etag;
        LogRejected(_logger, _endpointForLogs, etag, errors.Count, string.Join("; ", errors));
    }

    private async Task PersistAsync(CatalogOptions catalog, string? etag)
    {
        if (_cacheFile is null)
        {
            return;
        }

        try
        {
            await CatalogCacheFile.WriteAsync(_cacheFile, new CatalogCacheEntry(catalog, etag, _time.GetUtcNow()), _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogCacheWriteFailed(_logger, _cacheFile, ex);
        }
    }

    /// <summary>The endpoint answered: a run of failures, if any, is over.</summary>
    private void Answered()
    {
        if (_failures > 0)
        {
            LogRecovered(_logger, _endpointForLogs, _failures);
            _failures = 0;
        }
    }

    /// <summary>A poll failed: the first of a run is a warning, the rest are debug messages, so an outage does not flood the log.</summary>
    private void Failed(string reason, Exception? exception)
    {
        _failures++;
        if (_failures == 1)
        {
            LogUnavailable(_logger, _endpointForLogs, reason, _pollInterval, exception);
        }
        else
        {
            LogStillUnavailable(_logger, _endpointForLogs, _failures, reason, exception);
        }
    }
}
