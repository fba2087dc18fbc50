using Microsoft.Extensions.Logging;

namespace UsageGuard.PostgreSql.Tests;

internal sealed class FileLog : ILoggerFactory, ILogger
{
    private static readonly object Gate = new();
    public ILogger CreateLogger(string categoryName) => this;
    public void Dispose() { }
    public void AddProvider(ILoggerProvider provider) { }
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Gate)
        {
            File.AppendAllText("/tmp/ug.log", $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {eventId.Id} {formatter(state, exception)} {exception?.GetType().Name}: {exception?.Message}\n");
        }
    }
}
