using Microsoft.Extensions.Primitives;

namespace UsageGuard;

/// <summary>
/// A source of whole catalog documents that replaces the statically configured catalog while it has one, for example
/// a remote endpoint polled in the background (<see cref="CatalogSourceUsageGuardBuilderExtensions.UseHttpCatalog"/>).
/// </summary>
/// <remarks>
/// Implementations must be thread-safe: <see cref="Current"/> is read from any thread while the source changes it.
/// A source hands out only documents it has accepted; the guard validates each one again before it swaps it in.
/// </remarks>
public interface ICatalogSource
{
    /// <summary>Gets the last good catalog document, or <see langword="null"/> while the source has none yet.</summary>
    /// <value>An instance the source no longer changes; readers must treat it as read-only.</value>
    CatalogOptions? Current { get; }

    /// <summary>Gets a token that fires once, when <see cref="Current"/> changes; ask for a new token after it fired.</summary>
    /// <returns>A change token.</returns>
    IChangeToken GetChangeToken();
}
