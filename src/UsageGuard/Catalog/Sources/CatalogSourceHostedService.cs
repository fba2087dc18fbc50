using Microsoft.Extensions.Hosting;

namespace UsageGuard;

/// <summary>Starts the remote catalog source with the host and stops its polling at shutdown.</summary>
/// <remarks>
/// Without a cached document, start waits for the first poll (at most <see cref="HttpCatalogSourceOptions.RequestTimeout"/>),
/// so that requests meet the remote catalog rather than the static one; with one, the cached document serves at once.
/// </remarks>
internal sealed class CatalogSourceHostedService(ICatalogSource source) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (source is HttpCatalogSource http)
        {
            http.Start();
            if (http.Current is null)
            {
                await http.LastPoll.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) =>
        source is HttpCatalogSource http ? http.DisposeAsync().AsTask() : Task.CompletedTask;
}
