using System.Net.Http.Headers;

namespace UsageGuard.AI;

/// <summary>
/// Guards an OpenAI-compatible chat-completions endpoint at the HTTP level, under any client that sends through an
/// <see cref="HttpClient"/> (the official OpenAI .NET SDK with an <c>HttpClientPipelineTransport</c>, or hand-written calls): before a
/// <c>POST …/chat/completions</c> is sent, reserves its estimated cost; after it, settles the usage the provider reported, priced for
/// the model that answered.
/// </summary>
/// <remarks>
/// <para>Every other request passes through untouched (less the <see cref="UsageHeaders"/>, which never leave the handler). A refused
/// request throws <see cref="UsageLimitExceededException"/> and is never sent: not a synthetic <c>429</c>, which clients retry. The
/// hold is the input estimate (<see cref="UsageGuardHttpHandlerOptions.TokenEstimator"/> over the body's messages and tools) plus
/// <c>max_completion_tokens</c> (or <c>max_tokens</c>, or <see cref="UsageGuardHttpHandlerOptions.DefaultMaxOutputTokens"/>) per
/// choice, priced with the model's rate from the catalog.</para>
/// <para>A JSON response is read whole (it is small) and handed on as an equivalent content. A streamed response
/// (<c>text/event-stream</c>) is passed through as it arrives, never buffered, and settled once when it ends, is disposed before its
/// end, or fails. A response without usage is charged from the estimate, marked estimated in the ledger, never zero. An error status or
/// an exception from the inner handler releases the hold (or charges the estimate, as <see cref="UsageGuardHttpHandlerOptions.OnProviderError"/>
/// says). Each attempt a client's retry policy makes is reserved and settled on its own. See docs/ai-http.md.</para>
/// <para>Thread-safe: one instance serves concurrent requests.</para>
/// </remarks>
public sealed class UsageGuardHttpHandler : DelegatingHandler
{
    private const string ChatCompletionsPath = "/chat/completions";
    private const string EventStreamMediaType = "text/event-stream";

    private readonly IEntitlementGuard _guard;
    private readonly UsageGuardHttpHandlerOptions _options;

    /// <summary>Initializes a new instance of the <see cref="UsageGuardHttpHandler"/> class, whose inner handler is set later (for example by an <c>IHttpClientFactory</c>).</summary>
    /// <param name="guard">The guard that reserves and settles.</param>
    /// <param name="options">The options, or <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="guard"/> or the options' <see cref="UsageGuardHttpHandlerOptions.TokenEstimator"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="UsageGuardHttpHandlerOptions.DefaultMaxOutputTokens"/> is negative.</exception>
    public UsageGuardHttpHandler(IEntitlementGuard guard, UsageGuardHttpHandlerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(guard);
        _guard = guard;
        _options = Validate(options ?? new UsageGuardHttpHandlerOptions());
    }

    /// <summary>Initializes a new instance of the <see cref="UsageGuardHttpHandler"/> class.</summary>
    /// <param name="innerHandler">The handler that sends to the provider, such as a <see cref="SocketsHttpHandler"/>.</param>
    /// <param name="guard">The guard that reserves and settles.</param>
    /// <param name="options">The options, or <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="innerHandler"/>, <paramref name="guard"/> or the options' <see cref="UsageGuardHttpHandlerOptions.TokenEstimator"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="UsageGuardHttpHandlerOptions.DefaultMaxOutputTokens"/> is negative.</exception>
    public UsageGuardHttpHandler(HttpMessageHandler innerHandler, IEntitlementGuard guard, UsageGuardHttpHandlerOptions? options = null)
        : base(innerHandler)
    {
        ArgumentNullException.ThrowIfNull(guard);
        _guard = guard;
        _options = Validate(options ?? new UsageGuardHttpHandlerOptions());
    }

    /// <inheritdoc />
    /// <exception cref="UsageLimitExceededException">The request was refused; it was not sent, and nothing was held or charged.</exception>
    /// <exception cref="InvalidOperationException">A chat-completions request names no customer (headers, scope or resolver), no model (body or <see cref="UsageGuardHttpHandlerOptions.DefaultModelId"/>), or has no JSON object as its body; it was not sent.</exception>
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        SendCoreAsync(request, async: true, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="UsageLimitExceededException">The request was refused; it was not sent, and nothing was held or charged.</exception>
    /// <exception cref="InvalidOperationException">A chat-completions request names no customer (headers, scope or resolver), no model (body or <see cref="UsageGuardHttpHandlerOptions.DefaultModelId"/>), or has no JSON object as its body; it was not sent.</exception>
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        SendCoreAsync(request, async: false, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Whether a request is a chat completion: a POST to a path ending in <c>/chat/completions</c> (OpenAI, Azure OpenAI deployments, compatible servers).</summary>
    internal static bool IsChatCompletions(HttpRequestMessage request)
    {
        if (request.Method != HttpMethod.Post || request.RequestUri is not { } uri)
        {
            return false;
        }

        ReadOnlySpan<char> path = uri.IsAbsoluteUri ? uri.AbsolutePath : uri.OriginalString;
        int query = path.IndexOfAny('?', '#');
        if (query >= 0)
        {
            path = path[..query];
        }

        return path.TrimEnd('/').EndsWith(ChatCompletionsPath, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>One path for both: the synchronous one sends with the inner handler's <c>Send</c> and blocks only on the guard.</summary>
    private async Task<HttpResponseMessage> SendCoreAsync(HttpRequestMessage request, bool async, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        UsageContext fromHeaders = TakeHeaders(request.Headers, _options.ReadContextHeaders);
        if (!IsChatCompletions(request))
        {
            return async ? await base.SendAsync(request, cancellationToken).ConfigureAwait(false) : base.Send(request, cancellationToken);
        }

        HttpContent content = request.Content
            ?? throw new InvalidOperationException("A guarded chat-completions request needs a JSON body; this one has none, so it cannot be priced.");
        byte[] body = async ? await content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false) : ReadAll(content, cancellationToken);
        ChatCompletionRequest parsed = ChatCompletionRequest.Parse(body, _options);

        GuardedHttpCall call = await ReserveAsync(request, fromHeaders, parsed, cancellationToken).ConfigureAwait(false);

        // The caller's content stays the caller's to dispose (it may be sent again); the copy, read once already, goes out instead.
        request.Content = WithHeaders(new ByteArrayContent(parsed.Body), content.Headers);

        HttpResponseMessage response;
        try
        {
            response = async ? await base.SendAsync(request, cancellationToken).ConfigureAwait(false) : base.Send(request, cancellationToken);
        }
        catch (Exception)
        {
            await call.FailAsync().ConfigureAwait(false);
            throw;
        }

        if (!response.IsSuccessStatusCode)
        {
            await call.FailAsync().ConfigureAwait(false);
            return response;
        }

        var report = new CompletionReport();
        try
        {
            HttpContent answer = response.Content;
            if (string.Equals(answer.Headers.ContentType?.MediaType, EventStreamMediaType, StringComparison.OrdinalIgnoreCase))
            {
                Stream events = async ? await answer.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false) : answer.ReadAsStream(cancellationToken);
                response.Content = WithHeaders(new StreamContent(new MeteredEventStream(events, answer, call)), answer.Headers);
                return response;
            }

            byte[] json = async ? await answer.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false) : ReadAll(answer, cancellationToken);
            report.Read(json);
            response.Content = WithHeaders(new ByteArrayContent(json), answer.Headers);
            answer.Dispose();
        }
        catch (Exception)
        {
            response.Dispose();
            await call.FailAsync().ConfigureAwait(false);
            throw;
        }

        await call.SettleAsync(report, cut: false).ConfigureAwait(false);
        return response;
    }

    /// <summary>Resolves who pays and what is priced, and reserves; a refusal throws before anything is sent.</summary>
    private async ValueTask<GuardedHttpCall> ReserveAsync(HttpRequestMessage request, UsageContext fromHeaders, ChatCompletionRequest parsed, CancellationToken cancellationToken)
    {
        UsageContext context = fromHeaders.Or(UsageScope.Current);
        if (context.CustomerId is null && _options.ContextResolver is { } resolve)
        {
            context = context.Or(resolve(request));
        }

        string customerId = context.CustomerId
            ?? throw new InvalidOperationException($"A guarded chat-completions request needs a customer: open a UsageScope around the call, configure UsageGuardHttpHandlerOptions.ContextResolver, or turn on UsageGuardHttpHandlerOptions.ReadContextHeaders and send the {UsageHeaders.CustomerId} header.");
        string model = parsed.Model ?? _options.DefaultModelId
            ?? throw new InvalidOperationException("A guarded chat-completions request needs a model to price: name it in the body's \"model\", or set UsageGuardHttpHandlerOptions.DefaultModelId.");
        ReservationRequest reservation = context.Reserve(
            customerId, model, new TokenUsage(parsed.InputEstimate, 0, parsed.MaxOutputTokens, 0), _options.ReservationTtl, _options.OverrunPolicy, _options.Durability);
        ReservationResult result = await _guard.ReserveAsync(reservation, cancellationToken).ConfigureAwait(false);
        if (!result.IsAdmitted)
        {
            throw new UsageLimitExceededException(customerId, result);
        }

        return new GuardedHttpCall(_guard, result.Reservation, parsed.InputEstimate, _options.TokenEstimator, _options.OnProviderError);
    }

    /// <summary>Reads the context headers when trusted, and removes them either way, so they never reach the provider.</summary>
    private static UsageContext TakeHeaders(HttpRequestHeaders headers, bool read)
    {
        string? tags = Take(headers, UsageHeaders.Tags, read, joinValues: true);
        return new UsageContext
        {
            CustomerId = Take(headers, UsageHeaders.CustomerId, read),
            Subject = Take(headers, UsageHeaders.Subject, read),
            SessionId = Take(headers, UsageHeaders.SessionId, read),
            Feature = Take(headers, UsageHeaders.Feature, read),
            RequestId = Take(headers, UsageHeaders.RequestId, read),
            Tags = tags?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is { Length: > 0 } list ? list : null,
        };
    }

    private static string? Take(HttpRequestHeaders headers, string name, bool read, bool joinValues = false)
    {
        if (!headers.TryGetValues(name, out IEnumerable<string>? values))
        {
            return null;
        }

        string[] all = [.. values];
        headers.Remove(name);
        if (!read)
        {
            return null;
        }

        if (all.Length > 1 && !joinValues)
        {
            throw new InvalidOperationException($"The header {name} was sent {all.Length} times; send it once.");
        }

        string value = string.Join(',', all).Trim();
        return value.Length == 0 ? null : value;
    }

    private static byte[] ReadAll(HttpContent content, CancellationToken cancellationToken)
    {
        using Stream stream = content.ReadAsStream(cancellationToken);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Gives a replacement content the original's headers, less its length, which the replacement knows (or, streamed, does not).</summary>
    private static HttpContent WithHeaders(HttpContent replacement, HttpContentHeaders original)
    {
        foreach (KeyValuePair<string, IEnumerable<string>> header in original)
        {
            if (!string.Equals(header.Key, "Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                replacement.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        return replacement;
    }

    private static UsageGuardHttpHandlerOptions Validate(UsageGuardHttpHandlerOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(options.DefaultMaxOutputTokens, "options.DefaultMaxOutputTokens");
        ArgumentNullException.ThrowIfNull(options.TokenEstimator, "options.TokenEstimator");
        return options;
    }
}
