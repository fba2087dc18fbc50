namespace UsageGuard;

/// <summary>What a check or reservation does with a feature the catalog does not define, or a model without a rate.</summary>
public enum UnknownPolicy
{
    /// <summary>Denied with a reason that names what is unknown (the default): never a silent zero price.</summary>
    Deny,

    /// <summary>Allowed without a limit; a model without a rate is then priced by the request's own estimate.</summary>
    Allow,
}
