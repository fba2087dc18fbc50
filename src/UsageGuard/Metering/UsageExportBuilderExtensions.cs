using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace UsageGuard;

/// <summary>Registers usage-event exports with UsageGuard: each sink runs in the background of the host.</summary>
public static class UsageExportBuilderExtensions
{
    /// <summary>Exports the ledger's usage events to a sink for as long as the host runs (<see cref="UsageExport.RunAsync"/>).</summary>
    /// <param name="builder">The UsageGuard builder.</param>
    /// <param name="sink">Creates the sink, once, from the service provider.</param>
    /// <param name="configure">Sets the export's options; <see cref="UsageExportOptions.CursorDirectory"/> is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <remarks>
    /// Call it once per sink; each sink has its own cursor, named after <see cref="IUsageExporter.Name"/>. The export starts with the host
    /// and stops with it; what it had not delivered is delivered after the next start. Bad options throw when the host starts.
    /// </remarks>
    public static IUsageGuardBuilder AddUsageExport(this IUsageGuardBuilder builder, Func<IServiceProvider, IUsageExporter> sink, Action<UsageExportOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddSingleton<IHostedService>(provider =>
        {
            var options = new UsageExportOptions();
            configure(options);
            var export = new UsageExport(
                provider.GetRequiredService<ILedgerStore>(),
                sink(provider),
                options,
                provider.GetService<TimeProvider>(),
                provider.GetService<ILoggerFactory>()?.CreateLogger<UsageExport>());
            return new UsageExportHostedService(export, provider.GetRequiredService<UsageGuardHost>());
        });
        return builder;
    }

    /// <summary>Runs one export in the background between the host's start and stop.</summary>
    private sealed class UsageExportHostedService(UsageExport export, UsageGuardHost host) : IHostedService, IDisposable
    {
        private readonly CancellationTokenSource _stopping = new();
        private Task? _running;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            // The guard opens (and migrates) the store before the export reads it.
            _ = host.Guard;
            _running = Task.Run(() => export.RunAsync(_stopping.Token), CancellationToken.None);
            return Task.CompletedTask;
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            if (_running is not null)
            {
                await _running.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        public void Dispose() => _stopping.Dispose();
    }
}
