using Microsoft.Extensions.Options;

namespace UsageGuard.Tests;

/// <summary>An options monitor whose value a test changes, raising the change listeners as configuration reload does.</summary>
internal sealed class ManualOptionsMonitor(CatalogOptions value) : IOptionsMonitor<CatalogOptions>
{
    private readonly List<Action<CatalogOptions, string?>> _listeners = [];

    public CatalogOptions CurrentValue { get; private set; } = value;

    public CatalogOptions Get(string? name) => CurrentValue;

    public IDisposable OnChange(Action<CatalogOptions, string?> listener)
    {
        _listeners.Add(listener);
        return new Unsubscriber(() => _listeners.Remove(listener));
    }

    public void Change(CatalogOptions value)
    {
        CurrentValue = value;
        foreach (Action<CatalogOptions, string?> listener in _listeners.ToArray())
        {
            listener(value, Options.DefaultName);
        }
    }

    private sealed class Unsubscriber(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
