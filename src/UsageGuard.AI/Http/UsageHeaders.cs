namespace UsageGuard.AI;

/// <summary>
/// The request headers that name a chat-completions request's <see cref="UsageContext"/> to <see cref="UsageGuardHttpHandler"/>, read
/// only when <see cref="UsageGuardHttpHandlerOptions.ReadContextHeaders"/> is on.
/// </summary>
/// <remarks>The handler removes all of them from every request it forwards, read or not. Values are ASCII header values; a header sent twice is an error.</remarks>
public static class UsageHeaders
{
    /// <summary>The customer id.</summary>
    public const string CustomerId = "X-UsageGuard-Customer";

    /// <summary>The subject.</summary>
    public const string Subject = "X-UsageGuard-Subject";

    /// <summary>The session id.</summary>
    public const string SessionId = "X-UsageGuard-Session";

    /// <summary>The feature.</summary>
    public const string Feature = "X-UsageGuard-Feature";

    /// <summary>The tags, separated by commas; blanks around each tag are trimmed and empty tags dropped.</summary>
    public const string Tags = "X-UsageGuard-Tags";

    /// <summary>The host's request id.</summary>
    public const string RequestId = "X-UsageGuard-Request-Id";
}
