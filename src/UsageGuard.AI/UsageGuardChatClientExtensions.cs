using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace UsageGuard.AI;

/// <summary>Wraps chat clients in <see cref="UsageGuardChatClient"/>.</summary>
public static class UsageGuardChatClientExtensions
{
    /// <summary>Guards every call of <paramref name="client"/> with <paramref name="guard"/>.</summary>
    /// <param name="client">The client that calls the model (for a tool loop: the client inside function invocation).</param>
    /// <param name="guard">The guard.</param>
    /// <param name="configure">Changes the options, or <see langword="null"/> for the defaults.</param>
    /// <returns>The guarded client.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="client"/> or <paramref name="guard"/> is <see langword="null"/>.</exception>
    public static UsageGuardChatClient WithUsageGuard(this IChatClient client, IEntitlementGuard guard, Action<UsageGuardChatClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(guard);
        var options = new UsageGuardChatClientOptions();
        configure?.Invoke(options);
        return new UsageGuardChatClient(client, guard, options);
    }

    /// <summary>Guards every call of <paramref name="client"/> with the <see cref="IEntitlementGuard"/> registered by <c>AddUsageGuard()</c>.</summary>
    /// <param name="client">The client that calls the model.</param>
    /// <param name="services">The service provider that holds the guard.</param>
    /// <param name="configure">Changes the options, or <see langword="null"/> for the defaults.</param>
    /// <returns>The guarded client.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="client"/> or <paramref name="services"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">No guard is registered.</exception>
    public static UsageGuardChatClient WithUsageGuard(this IChatClient client, IServiceProvider services, Action<UsageGuardChatClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        return client.WithUsageGuard(services.GetRequiredService<IEntitlementGuard>(), configure);
    }
}
