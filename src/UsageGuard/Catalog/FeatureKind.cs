namespace UsageGuard;

/// <summary>What a feature is: gated on or off, a configuration value, or metered against a limit.</summary>
public enum FeatureKind
{
    /// <summary>On or off for a customer (for example <c>sso</c>).</summary>
    Boolean,

    /// <summary>A configuration value per customer (for example <c>max-context-tokens</c> = 128000).</summary>
    Config,

    /// <summary>Counted in units, with a limit per usage window (for example <c>chat.completions</c>, 1,000 a day).</summary>
    Metered,
}
