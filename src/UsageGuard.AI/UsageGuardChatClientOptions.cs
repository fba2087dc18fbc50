using Microsoft.Extensions.AI;

namespace UsageGuard.AI;

/// <summary>How <see cref="UsageGuardChatClient"/> attributes, estimates, reserves and settles a call.</summary>
public sealed class UsageGuardChatClientOptions
{
    /// <summary>Gets or sets the output tokens held when a call sets no <see cref="ChatOptions.MaxOutputTokens"/>.</summary>
    /// <value>The default value is 4,096.</value>
    public int DefaultMaxOutputTokens { get; set; } = 4_096;

    /// <summary>Gets or sets the model priced when neither the call (<see cref="ChatOptions.ModelId"/>) nor the inner client's metadata names one.</summary>
    /// <value>The default value is <see langword="null"/>: such a call throws <see cref="InvalidOperationException"/>.</value>
    public string? DefaultModelId { get; set; }

    /// <summary>Gets or sets the estimator of input tokens (and of output tokens when a provider reports no usage).</summary>
    /// <value>The default value is <see cref="CharacterTokenEstimator.Instance"/>.</value>
    public ITokenEstimator TokenEstimator { get; set; } = CharacterTokenEstimator.Instance;

    /// <summary>
    /// Gets or sets the last source of a call's <see cref="UsageContext"/>, asked only when neither the call's options nor the ambient
    /// <see cref="UsageScope"/> name the customer (for example, from an <c>IHttpContextAccessor</c>'s user).
    /// </summary>
    /// <value>The default value is <see langword="null"/>: such a call throws <see cref="InvalidOperationException"/>.</value>
    public Func<IEnumerable<ChatMessage>, ChatOptions?, UsageContext>? ContextResolver { get; set; }

    /// <summary>Gets or sets what happens to the hold when the provider throws before it reported usage.</summary>
    /// <value>The default value is <see cref="ProviderErrorPolicy.Release"/>.</value>
    public ProviderErrorPolicy OnProviderError { get; set; } = ProviderErrorPolicy.Release;

    /// <summary>Gets or sets how long a call's hold lives if it is never settled, or <see langword="null"/> for the guard's default TTL.</summary>
    public TimeSpan? ReservationTtl { get; set; }

    /// <summary>
    /// Gets or sets what a settlement does when the reported usage costs more than the hold (a long prompt the estimator undercounted,
    /// an answer past the output estimate), or <see langword="null"/> for the guard's default (<see cref="UsageGuardOptions.DefaultOverrunPolicy"/>).
    /// </summary>
    /// <remarks><see cref="SettlementPolicy.Cap"/> or <see cref="SettlementPolicy.Overdraft"/> charge the wallet what the call cost; <see cref="SettlementPolicy.Reject"/> charges the hold and records the rest as overage.</remarks>
    public SettlementPolicy? OverrunPolicy { get; set; }

    /// <summary>Gets or sets when a settlement completes, or <see langword="null"/> for the guard's default (<see cref="UsageGuardOptions.SettlementDurability"/>).</summary>
    public Durability? Durability { get; set; }
}
