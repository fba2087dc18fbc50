using Microsoft.Extensions.DependencyInjection;

namespace UsageGuard;

/// <summary>Configures UsageGuard in a service collection; store packages add <c>Use…</c> extensions to it.</summary>
public interface IUsageGuardBuilder
{
    /// <summary>Gets the service collection.</summary>
    IServiceCollection Services { get; }
}
