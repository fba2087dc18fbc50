using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace UsageGuard;

/// <summary>Registers UsageGuard: <see cref="IEntitlementGuard"/>, <see cref="ICreditLedger"/>, the ledger store and the start-up/shutdown service.</summary>
public static class UsageGuardServiceCollectionExtensions
{
    /// <summary>Adds UsageGuard with the in-memory store unless another store is registered (for example with <c>UseSqlite</c>).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options, or <see langword="null"/>.</param>
    /// <returns>A builder for store and feature registrations.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// Options are validated when the host starts (<c>ValidateOnStart</c>) and again when the guard is first built,
    /// so hosts without a generic host fail just as clearly. <see cref="TimeProvider"/> defaults to
    /// <see cref="TimeProvider.System"/>; register your own first to control time.
    /// The guard is started (the store replayed) by the hosted service, or on first resolution otherwise; on host
    /// shutdown, or when the service provider is disposed, the ledger writer commits everything queued.
    /// </remarks>
    public static IUsageGuardBuilder AddUsageGuard(this IServiceCollection services, Action<UsageGuardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<UsageGuardOptions> options = services.AddOptions<UsageGuardOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UsageGuardOptions>, UsageGuardOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ILedgerStore, InMemoryLedgerStore>();
        services.TryAddSingleton<UsageGuardHost>();
        services.TryAddSingleton<IEntitlementGuard>(sp => sp.GetRequiredService<UsageGuardHost>().Guard);
        services.TryAddSingleton<ICreditLedger>(sp => sp.GetRequiredService<UsageGuardHost>().Guard);
        services.TryAddSingleton<IUsageGovernance>(sp => sp.GetRequiredService<UsageGuardHost>().Guard);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, UsageGuardHostedService>());
        return new UsageGuardBuilder(services);
    }

    private sealed class UsageGuardBuilder(IServiceCollection services) : IUsageGuardBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
