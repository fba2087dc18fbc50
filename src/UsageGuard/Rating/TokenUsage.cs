namespace UsageGuard;

/// <summary>The tokens one model call used, by kind; the four counts are disjoint.</summary>
/// <remarks>
/// <para>The counts do not overlap: <see cref="CachedInputTokens"/> are not part of <see cref="InputTokens"/>, and
/// <see cref="ReasoningTokens"/> are not part of <see cref="OutputTokens"/>. Vendors that report cached or reasoning
/// tokens as a subset (OpenAI's <c>prompt_tokens_details.cached_tokens</c> and
/// <c>completion_tokens_details.reasoning_tokens</c>) must be subtracted by the caller, so that no token is priced
/// twice.</para>
/// <para>Negative counts are rejected where the usage is priced, with an <see cref="ArgumentOutOfRangeException"/>
/// whose <c>ParamName</c> names the property.</para>
/// </remarks>
/// <param name="InputTokens">The prompt tokens that were not served from the vendor's cache.</param>
/// <param name="CachedInputTokens">The prompt tokens served from the vendor's cache.</param>
/// <param name="OutputTokens">The completion tokens that are not reasoning tokens.</param>
/// <param name="ReasoningTokens">The reasoning (thinking) tokens.</param>
public readonly record struct TokenUsage(long InputTokens, long CachedInputTokens, long OutputTokens, long ReasoningTokens)
{
    /// <summary>Gets the sum of the four counts.</summary>
    /// <exception cref="OverflowException">The sum does not fit in a <see cref="long"/>.</exception>
    public long TotalTokens => checked(InputTokens + CachedInputTokens + OutputTokens + ReasoningTokens);
}
