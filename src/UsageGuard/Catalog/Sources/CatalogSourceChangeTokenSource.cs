using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace UsageGuard;

/// <summary>Tells <see cref="IOptionsMonitor{TOptions}"/> of <see cref="CatalogOptions"/> when the source's document changes, so the monitor rebuilds the options and reports them.</summary>
internal sealed class CatalogSourceChangeTokenSource(ICatalogSource source) : IOptionsChangeTokenSource<CatalogOptions>
{
    public string Name => Options.DefaultName;

    public IChangeToken GetChangeToken() => source.GetChangeToken();
}
