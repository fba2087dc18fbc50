namespace UsageGuard.AI;

/// <summary>How <see cref="UsageGuardHttpHandler"/> attributes, estimates, reserves and settles a chat-completions request.</summary>
/// <remarks>An options object: mutable and not thread-safe. Configure it before the handler sends its first request; the handler reads it per request.</remarks>
public sealed class UsageGuardHttpHandlerOptions
{
    /// <summary>Gets or sets the output tokens held per choice when a request sets neither <c>max_completion_tokens</c> nor <c>max_tokens</c>.</summary>
    /// <value>The default value is 4,096.</value>
    public int DefaultMaxOutputTokens { get; set; } = 4_096;

    /// <summary>Gets or sets the model priced when a request body names none (for example, an endpoint that takes the deployment from its path).</summary>
    /// <value>The default value is <see langword="null"/>: such a request throws <see cref="InvalidOperationException"/> before it is sent.</value>
    public string? DefaultModelId { get; set; }

    /// <summary>Gets or sets the estimator of input tokens (and of output tokens when a provider reports no usage).</summary>
    /// <value>The default value is <see cref="CharacterTokenEstimator.Instance"/>.</value>
    /// <remarks>The request's messages and tool definitions are handed to <see cref="ITokenEstimator.EstimateInputTokens"/> as chat messages and tools.</remarks>
    public ITokenEstimator TokenEstimator { get; set; } = CharacterTokenEstimator.Instance;

    /// <summary>
    /// Gets or sets the last source of a request's <see cref="UsageContext"/>, asked only when neither the <see cref="UsageHeaders"/> (when
    /// read) nor the ambient <see cref="UsageScope"/> name the customer.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: such a request throws <see cref="InvalidOperationException"/> before it is sent.</value>
    public Func<HttpRequestMessage, UsageContext>? ContextResolver { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether the <see cref="UsageHeaders"/> of a request name its customer, subject, session, feature,
    /// tags and request id, ahead of the ambient <see cref="UsageScope"/>.
    /// </summary>
    /// <value>
    /// The default value is <see langword="false"/>: the headers are ignored. Turn it on only where every request that reaches the handler
    /// is built by trusted code: a host that copies incoming headers onto outgoing requests would let its callers choose who pays.
    /// </value>
    /// <remarks>Either way, the headers are removed from every request before it leaves the handler, so they never reach the provider.</remarks>
    public bool ReadContextHeaders { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether a streaming request without <c>stream_options.include_usage</c> is sent with
    /// <c>"stream_options": {"include_usage": true}</c> added, so that the provider reports the stream's usage in a last chunk.
    /// </summary>
    /// <value>
    /// The default value is <see langword="true"/>. An explicit <c>"include_usage": false</c> is left as it is. Turn it off for a server
    /// that rejects <c>stream_options</c>, or for a caller that cannot take the extra chunk (its <c>choices</c> list is empty); such
    /// streams are settled from the estimate.
    /// </value>
    public bool RequestStreamUsage { get; set; } = true;

    /// <summary>Gets or sets what happens to the hold when the provider fails: an error status, or an exception before the response arrived.</summary>
    /// <value>The default value is <see cref="ProviderErrorPolicy.Release"/>.</value>
    public ProviderErrorPolicy OnProviderError { get; set; } = ProviderErrorPolicy.Release;

    /// <summary>
    /// Gets or sets what a settlement does when the reported usage costs more than the hold, or <see langword="null"/> for the guard's
    /// default (<see cref="UsageGuardOptions.DefaultOverrunPolicy"/>): <see cref="SettlementPolicy.Cap"/> or <see cref="SettlementPolicy.Overdraft"/>
    /// charge the wallet what the call cost; <see cref="SettlementPolicy.Reject"/> charges the hold and records the rest as overage.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public SettlementPolicy? OverrunPolicy { get; set; }

    /// <summary>Gets or sets how long a request's hold lives if it is never settled, or <see langword="null"/> for the guard's default TTL.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public TimeSpan? ReservationTtl { get; set; }

    /// <summary>Gets or sets when a settlement completes, or <see langword="null"/> for the guard's default (<see cref="UsageGuardOptions.SettlementDurability"/>).</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public Durability? Durability { get; set; }
}
