namespace UsageGuard;

/// <summary>The type of a <see cref="FeatureKind.Config"/> feature's value.</summary>
public enum ConfigValueType
{
    /// <summary>Any text (a string).</summary>
    Text,

    /// <summary>A decimal number, written with an invariant-culture decimal point.</summary>
    Number,

    /// <summary>One of the feature's <see cref="FeatureOptions.AllowedValues"/> (an enumeration).</summary>
    Choice,
}
