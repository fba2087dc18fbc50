using Microsoft.Extensions.Logging;

namespace UsageGuard.Tests.Catalog.Sources;

/// <summary>A logger (and the factory of itself) that keeps every entry, for tests that assert what was logged and how often.</summary>
internal sealed class RecordingLogger : ILogger, ILoggerFactory
{
    private readonly Lock _gate = new();
    private readonly List<Entry> _entries = [];

    public IReadOnlyList<Entry> Entries
    {
        get
        {
            lock (_gate)
            {
                return _entries.ToArray();
            }
        }
    }

    public IEnumerable<Entry> WithId(int eventId) => Entries.Where(e => e.EventId == eventId);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_gate)
        {
            _entries.Add(new Entry(logLevel, eventId.Id, formatter(state, exception), exception));
        }
    }

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
    }

    public sealed record Entry(LogLevel Level, int EventId, string Message, Exception? Exception);
}
