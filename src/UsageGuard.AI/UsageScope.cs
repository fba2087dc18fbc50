namespace UsageGuard.AI;

/// <summary>An ambient <see cref="UsageContext"/> for the calls made inside it, on this async flow: set once per incoming request, read by every guarded client.</summary>
/// <remarks>
/// <code>
/// using (UsageScope.Begin(new UsageContext { CustomerId = "acme", Subject = "eng/search", SessionId = runId }))
/// {
///     await chatClient.GetResponseAsync(messages); // reserved and settled for acme / eng/search / runId
/// }
/// </code>
/// Scopes nest: an inner scope's fields win, and fields it leaves empty come from the outer one. Disposing restores the outer scope.
/// </remarks>
public static class UsageScope
{
    private static readonly AsyncLocal<Holder?> s_current = new();

    /// <summary>Gets the ambient context (empty when no scope is open).</summary>
    public static UsageContext Current => s_current.Value?.Context ?? default;

    /// <summary>Opens a scope: calls inside it are attributed to <paramref name="context"/> unless their options say otherwise.</summary>
    /// <param name="context">The context; empty fields come from the enclosing scope.</param>
    /// <returns>A handle that closes the scope when disposed.</returns>
    public static Closer Begin(in UsageContext context)
    {
        Holder? outer = s_current.Value;
        s_current.Value = new Holder(outer is null ? context : context.Or(outer.Context));
        return new Closer(outer);
    }

    /// <summary>Closes a scope and restores the enclosing one.</summary>
    public readonly struct Closer : IDisposable
    {
        private readonly Holder? _outer;

        internal Closer(Holder? outer) => _outer = outer;

        /// <summary>Restores the enclosing scope.</summary>
        public void Dispose() => s_current.Value = _outer;
    }

    /// <summary>The context of one scope.</summary>
    internal sealed class Holder(UsageContext context)
    {
        internal UsageContext Context { get; } = context;
    }
}
