using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace UsageGuard;

/// <summary>
/// Holds the catalog's current snapshot and swaps in a new one when the catalog's options change: validated whole first, so an
/// invalid change is logged (naming each problem) and the last good snapshot keeps serving.
/// </summary>
/// <remarks>Thread-safe. Readers take <see cref="Current"/> once per operation and use that snapshot throughout; a swap is one reference write.</remarks>
internal sealed partial class CatalogProvider : IDisposable
{
    private readonly IReadOnlyDictionary<string, int> _scales;
    private readonly ILogger _logger;
    private readonly IDisposable? _subscription;
    private readonly object _swapGate = new();
    private CatalogSnapshot _current;

    /// <summary>Builds the first snapshot from the monitor's current value and follows its changes.</summary>
    /// <exception cref="CatalogValidationException">The catalog at start is invalid: a guard does not start on a catalog it cannot use.</exception>
    internal CatalogProvider(IOptionsMonitor<CatalogOptions> monitor, IReadOnlyDictionary<string, int> creditTypeScales, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        _scales = creditTypeScales;
        _logger = logger;
        _current = CatalogCompiler.Compile(monitor.CurrentValue, _scales, version: 1);
        _subscription = monitor.OnChange((options, _) => Apply(options));
    }

    /// <summary>Gets the snapshot in force.</summary>
    internal CatalogSnapshot Current => Volatile.Read(ref _current);

    /// <summary>Gets how many changes were rejected since start (tests and health read it).</summary>
    internal long Rejected { get; private set; }

    /// <summary>Validates a changed catalog and swaps it in; returns false (and logs why) when it is rejected.</summary>
    internal bool Apply(CatalogOptions options)
    {
        // One swap at a time, so version numbers follow the order in which changes are accepted.
        lock (_swapGate)
        {
            CatalogSnapshot current = _current;
            CatalogSnapshot next;
            try
            {
                next = CatalogCompiler.Compile(options, _scales, current.Version + 1);
            }
            catch (CatalogValidationException ex)
            {
                Rejected++;
                LogRejected(_logger, current.Version, ex.Errors.Count, string.Join("; ", ex.Errors));
                return false;
            }

            if (next.ContentHash == current.ContentHash)
            {
                // Configuration providers raise change events for saves that change nothing; a version number per real change.
                return true;
            }

            Volatile.Write(ref _current, next);
            LogApplied(_logger, next.Version, next.Revision, next.ContentHash);
            return true;
        }
    }

    public void Dispose() => _subscription?.Dispose();

    [LoggerMessage(EventId = 200, Level = LogLevel.Error, Message = "A catalog change was rejected ({Count} problems); catalog version {Version} keeps serving. {Errors}")]
    private static partial void LogRejected(ILogger logger, long version, int count, string errors);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Catalog version {Version} is in force (revision {Revision}, content {ContentHash}).")]
    private static partial void LogApplied(ILogger logger, long version, string? revision, string contentHash);
}
