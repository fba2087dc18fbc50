using Microsoft.Extensions.Hosting;

namespace UsageGuard;

/// <summary>Starts the guard with the host (replaying the store before requests arrive) and flushes the ledger at shutdown.</summary>
internal sealed class UsageGuardHostedService(UsageGuardHost host) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = host.Guard;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => host.DisposeAsync().AsTask();
}
