using Microsoft.Extensions.Logging;

namespace UsageGuard;

/// <content>Log messages, event ids 210 to 218.</content>
internal sealed partial class HttpCatalogSource
{
    [LoggerMessage(EventId = 210, Level = LogLevel.Information, Message = "The catalog from {Endpoint} was accepted (revision {Revision}, content {ContentHash}, ETag {ETag}).")]
    private static partial void LogAccepted(ILogger logger, string endpoint, string? revision, string contentHash, string? etag);

    [LoggerMessage(EventId = 211, Level = LogLevel.Error, Message = "The catalog from {Endpoint} (ETag {ETag}) was rejected ({Count} problems) and not persisted; the last good catalog keeps serving. {Errors}")]
    private static partial void LogRejected(ILogger logger, string endpoint, string? etag, int count, string errors);

    [LoggerMessage(EventId = 212, Level = LogLevel.Warning, Message = "The catalog endpoint {Endpoint} could not be read: {Reason}. The last good catalog keeps serving; polls go on every {PollInterval}, logged at Debug until one succeeds.")]
    private static partial void LogUnavailable(ILogger logger, string endpoint, string reason, TimeSpan pollInterval, Exception? exception);

    [LoggerMessage(EventId = 213, Level = LogLevel.Debug, Message = "The catalog endpoint {Endpoint} could not be read ({Failures} polls in a row): {Reason}.")]
    private static partial void LogStillUnavailable(ILogger logger, string endpoint, int failures, string reason, Exception? exception);

    [LoggerMessage(EventId = 214, Level = LogLevel.Information, Message = "The catalog endpoint {Endpoint} answers again, after {Failures} failed polls.")]
    private static partial void LogRecovered(ILogger logger, string endpoint, int failures);

    [LoggerMessage(EventId = 215, Level = LogLevel.Information, Message = "The catalog persisted in {CacheFile} (revision {Revision}, saved {SavedAt}, ETag {ETag}) serves until the endpoint answers.")]
    private static partial void LogCacheLoaded(ILogger logger, string cacheFile, string? revision, DateTimeOffset savedAt, string? etag);

    [LoggerMessage(EventId = 216, Level = LogLevel.Warning, Message = "The catalog cache file {CacheFile} was ignored: {Reason}.")]
    private static partial void LogCacheIgnored(ILogger logger, string cacheFile, string reason);

    [LoggerMessage(EventId = 217, Level = LogLevel.Warning, Message = "The accepted catalog could not be persisted to {CacheFile}: it serves from memory, and a restart while the endpoint is down would not find it.")]
    private static partial void LogCacheWriteFailed(ILogger logger, string cacheFile, Exception exception);

    [LoggerMessage(EventId = 218, Level = LogLevel.Error, Message = "A listener of catalog changes failed; the new catalog is current in the source.")]
    private static partial void LogListenerFailed(ILogger logger, Exception exception);
}
