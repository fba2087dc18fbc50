namespace UsageGuard;

/// <content>The defaults of <see cref="HttpCatalogSourceOptions"/>.</content>
public static partial class UsageGuardDefaults
{
    /// <summary>How long a remote catalog source waits between the end of one poll and the start of the next, in seconds.</summary>
    public const int CatalogPollIntervalSeconds = 30;

    /// <summary>How long a remote catalog source waits for one response, body included, in seconds.</summary>
    public const int CatalogRequestTimeoutSeconds = 10;
}
