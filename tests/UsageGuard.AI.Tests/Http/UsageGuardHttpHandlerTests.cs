using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using OpenAI;
using OpenAI.Chat;

namespace UsageGuard.AI.Tests.Http;

/// <summary>The handler under the official OpenAI SDK and under plain HttpClient calls, against a local OpenAI-compatible server.</summary>
public sealed class UsageGuardHttpHandlerTests
{
    /// <summary>The canned usage priced for gpt-test: 800 input × 2 + 200 cached × 1 + 400 output × 8 + 100 reasoning × 16, per million.</summary>
    private const decimal UsagePricedForRequested = 0.0066m;

    /// <summary>The canned usage priced for the snapshot: 800 × 1 + 200 × 0.5 + 400 × 4 + 100 × 4 (reasoning at the output price), per million.</summary>
    private const decimal UsagePricedForSnapshot = 0.0029m;

    /// <summary>"Say hello", estimated: 4 tokens of framing + 9 characters / 4, rounded up = 7 input tokens.</summary>
    private const long InputEstimate = 7;

    private static readonly ChatMessage[] SayHello = [new UserChatMessage("Say hello")];

    private static UsageScope.Closer Acme() =>
        UsageScope.Begin(new UsageContext { CustomerId = GuardedOpenAi.Customer, Subject = "eng/search", SessionId = "run-1", RequestId = "req-1" });

    /// <summary>A deadline for the streams a server holds open, so that a handler that buffered them fails the test instead of hanging it.</summary>
    private static CancellationToken Soon => new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token;

    private static decimal Price(long input, long output) => ((input * 2m) + (output * 8m)) / 1_000_000m;

    [Test]
    public async Task CompleteChat_ChargesTheReportedUsagePricedByTheCatalog_WithCachedAndReasoningTokensDisjoint()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        using UsageScope.Closer scope = Acme();

        ClientResult<ChatCompletion> result = await g.Chat.CompleteChatAsync(SayHello, new ChatCompletionOptions { MaxOutputTokenCount = 1_000 });

        result.Value.Content[0].Text.Should().Be("Hello there");
        result.Value.Usage.InputTokenCount.Should().Be(1_000, "the caller gets the body as the server sent it");
        (await g.ChargedAsync()).Should().Be(UsagePricedForRequested);
        LedgerEntry settle = (await g.SettlementsAsync()).Should().ContainSingle().Subject;
        settle.Reason.Should().BeNull("the usage was measured, not estimated");
        settle.Model.Should().Be("gpt-test");
        (settle.Subject, settle.SessionId, settle.RequestId).Should().Be(("eng/search", "run-1", "req-1"));
        g.Held.Should().Be(0m);
        RecordedRequest sent = g.Server.Requests.Should().ContainSingle().Subject;
        (sent.Method, sent.Path).Should().Be(("POST", "/v1/chat/completions"));
        sent.Json.GetProperty("max_completion_tokens").GetInt32().Should().Be(1_000);
    }

    [Test]
    public async Task CompleteChat_UsageAboveTheHold_ChargesTheHold_AndRecordsTheRestAsOverage()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        using UsageScope.Closer scope = Acme();

        await g.Chat.CompleteChatAsync(SayHello, new ChatCompletionOptions { MaxOutputTokenCount = 300 });

        // The hold: 7 estimated input tokens × 2 + 300 output tokens × 8, per million; the usage reported costs 0.0066.
        decimal hold = Price(InputEstimate, 300);
        (await g.ChargedAsync()).Should().Be(hold, "the default overrun policy charges the hold only");
        IReadOnlyList<LedgerEntry> history = await g.Ledger.GetHistoryAsync(new LedgerQuery { CustomerId = GuardedOpenAi.Customer });
        history.Should().ContainSingle(e => e.Kind == LedgerEntryKind.Overage).Which.Amount.ToDecimal().Should().Be(UsagePricedForRequested - hold);
    }

    [Test]
    public async Task CompleteChat_UsageAboveTheHold_WithTheCapPolicy_ChargesWhatTheCallCost()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync(configure: o => o.OverrunPolicy = SettlementPolicy.Cap);
        using UsageScope.Closer scope = Acme();

        await g.Chat.CompleteChatAsync(SayHello, new ChatCompletionOptions { MaxOutputTokenCount = 300 });

        (await g.ChargedAsync()).Should().Be(UsagePricedForRequested);
        (await g.Ledger.GetHistoryAsync(new LedgerQuery { CustomerId = GuardedOpenAi.Customer })).Should().NotContain(e => e.Kind == LedgerEntryKind.Overage);
    }

    [Test]
    public async Task CompleteChat_Synchronous_IsGuardedToo()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        using UsageScope.Closer scope = Acme();

        ClientResult<ChatCompletion> result = g.Chat.CompleteChat(SayHello);

        result.Value.Content[0].Text.Should().Be("Hello there");
        (await g.ChargedAsync()).Should().Be(UsagePricedForRequested);
        g.Held.Should().Be(0m);
    }

    [Test]
    public async Task CompleteChat_AnsweredByAnotherModel_IsPricedForTheAnsweringModel_AndRecordedUnderTheRequestedOne()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        g.Server.Respond = _ => CannedResponse.Json(OpenAiFixtures.Completion(model: "gpt-test-2026-01-01"));
        using UsageScope.Closer scope = Acme();

        ClientResult<ChatCompletion> result = await g.Chat.CompleteChatAsync(SayHello);

        result.Value.Model.Should().Be("gpt-test-2026-01-01");
        (await g.ChargedAsync()).Should().Be(UsagePricedForSnapshot);
        (await g.SettlementsAsync()).Should().ContainSingle().Which.Model.Should().Be("gpt-test", "budgets matched the requested model");
    }

    [Test]
    public async Task CompleteChat_ResponseWithoutUsage_ChargesTheEstimate_MarkedEstimated()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        g.Server.Respond = _ => CannedResponse.Json(OpenAiFixtures.Completion(content: "Hello there", usage: null));
        using UsageScope.Closer scope = Acme();

        await g.Chat.CompleteChatAsync(SayHello);

        // "Hello there": 11 characters, 3 tokens.
        (await g.ChargedAsync()).Should().Be(Price(InputEstimate, 3));
        (await g.SettlementsAsync()).Should().ContainSingle().Which.Reason.Should().Be(TokenSettlement.EstimatedReason);
    }

    [Test]
    public async Task CompleteChatStreaming_WithUsage_PassesChunksThroughAsTheyCome_AndChargesTheReportedUsage()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        var firstTextSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        g.Server.Respond = r => CannedResponse.Events(
            OpenAiFixtures.Stream(["Hello", " world"], includeUsage: r.IncludeUsage),
            beforeChunk: i => i == 2 ? firstTextSeen.Task.WaitAsync(g.Server.Stopping) : Task.CompletedTask);
        using UsageScope.Closer scope = Acme();
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;

        await foreach (StreamingChatCompletionUpdate update in g.Chat.CompleteChatStreamingAsync(SayHello, cancellationToken: Soon))
        {
            // The server sends the rest only after the first text arrived here: a buffering handler would never get it.
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            if (text.Length > 0)
            {
                firstTextSeen.TrySetResult();
            }

            usage ??= update.Usage;
        }

        text.ToString().Should().Be("Hello world");
        usage!.OutputTokenCount.Should().Be(500);
        g.Server.Requests.Should().ContainSingle().Which.IncludeUsage.Should().BeTrue();
        (await g.ChargedAsync()).Should().Be(UsagePricedForRequested);
        (await g.SettlementsAsync()).Should().ContainSingle().Which.Reason.Should().BeNull();
        g.Held.Should().Be(0m);
    }

    [Test]
    public async Task CompleteChatStreaming_Synchronous_IsSettledOnceFromTheUsage()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        g.Server.Respond = r => CannedResponse.Events(OpenAiFixtures.Stream(["Hello", " world"], includeUsage: r.IncludeUsage));
        using UsageScope.Closer scope = Acme();

        int updates = g.Chat.CompleteChatStreaming(SayHello).Count();

        updates.Should().BeGreaterThan(3);
        (await g.ChargedAsync()).Should().Be(UsagePricedForRequested);
        (await g.SettlementsAsync()).Should().ContainSingle();
    }

    [Test]
    public async Task CompleteChatStreaming_AnsweredByAnotherModel_IsPricedForTheAnsweringModel()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        g.Server.Respond = r => CannedResponse.Events(OpenAiFixtures.Stream(["Hi"], includeUsage: r.IncludeUsage, model: "gpt-test-2026-01-01"));
        using UsageScope.Closer scope = Acme();

        await foreach (StreamingChatCompletionUpdate update in g.Chat.CompleteChatStreamingAsync(SayHello))
        {
            update.Model.Should().Be("gpt-test-2026-01-01");
        }

        (await g.ChargedAsync()).Should().Be(UsagePricedForSnapshot);
    }

    [Test]
    public async Task CompleteChatStreaming_ServerSendsNoUsage_ChargesInputEstimatePlusTheTextSeen_MarkedEstimated()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();

        // A compatible server that ignores stream_options.
        g.Server.Respond = _ => CannedResponse.Events(OpenAiFixtures.Stream(["Hello", " world"], includeUsage: false));
        using UsageScope.Closer scope = Acme();

        await foreach (StreamingChatCompletionUpdate update in g.Chat.CompleteChatStreamingAsync(SayHello))
        {
            update.Usage.Should().BeNull();
        }

        // "Hello world": 11 characters, 3 tokens.
        (await g.ChargedAsync()).Should().Be(Price(InputEstimate, 3));
        (await g.SettlementsAsync()).Should().ContainSingle().Which.Reason.Should().Be(TokenSettlement.EstimatedReason);
        g.Held.Should().Be(0m);
    }

    [Test]
    public async Task CompleteChatStreaming_BrokenOffByTheCaller_IsSettledOnceForWhatWasProduced()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();

        // The server sends the role and "Hello", then holds the rest until it stops.
        g.Server.Respond = r => CannedResponse.Events(
            OpenAiFixtures.Stream(["Hello", " world"], includeUsage: r.IncludeUsage),
            beforeChunk: i => i == 2 ? Task.Delay(Timeout.Infinite, g.Server.Stopping) : Task.CompletedTask);
        using UsageScope.Closer scope = Acme();

        await foreach (StreamingChatCompletionUpdate update in g.Chat.CompleteChatStreamingAsync(SayHello, cancellationToken: Soon))
        {
            if (update.ContentUpdate.Count > 0 && update.ContentUpdate[0].Text == "Hello")
            {
                break;
            }
        }

        // "Hello": 5 characters, 2 tokens; no usage came.
        (await g.ChargedAsync()).Should().Be(Price(InputEstimate, 2));
        (await g.SettlementsAsync()).Should().ContainSingle().Which.Reason.Should().Be(TokenSettlement.EstimatedReason);
        g.Held.Should().Be(0m);
    }

    [Test]
    public async Task CompleteChatStreaming_Synchronous_BrokenOffByTheCaller_IsSettledOnce()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        g.Server.Respond = r => CannedResponse.Events(
            OpenAiFixtures.Stream(["Hello", " world"], includeUsage: r.IncludeUsage),
            beforeChunk: i => i == 2 ? Task.Delay(Timeout.Infinite, g.Server.Stopping) : Task.CompletedTask);
        using UsageScope.Closer scope = Acme();

        foreach (StreamingChatCompletionUpdate update in g.Chat.CompleteChatStreaming(SayHello, cancellationToken: Soon))
        {
            if (update.ContentUpdate.Count > 0 && update.ContentUpdate[0].Text == "Hello")
            {
                break;
            }
        }

        (await g.ChargedAsync()).Should().Be(Price(InputEstimate, 2));
        (await g.SettlementsAsync()).Should().ContainSingle();
        g.Held.Should().Be(0m);
    }

    [Test]
    public async Task CompleteChatStreaming_FailingMidway_IsChargedForWhatWasProduced()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        g.Server.Respond = r => CannedResponse.Events(OpenAiFixtures.Stream(["Hello"], includeUsage: r.IncludeUsage).Take(2), abort: true);
        using UsageScope.Closer scope = Acme();

        Func<Task> read = async () =>
        {
            await foreach (StreamingChatCompletionUpdate update in g.Chat.CompleteChatStreamingAsync(SayHello))
            {
                _ = update;
            }
        };

        await read.Should().ThrowAsync<Exception>();
        (await g.ChargedAsync()).Should().Be(Price(InputEstimate, 2));
        (await g.SettlementsAsync()).Should().ContainSingle().Which.Reason.Should().Be(TokenSettlement.EstimatedReason);
        g.Held.Should().Be(0m);
    }

    [Test]
    public async Task CompleteChatStreaming_FailingBeforeAnyOutput_ReleasesTheHold()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        g.Server.Respond = _ => CannedResponse.Events([], abort: true);
        using UsageScope.Closer scope = Acme();

        Func<Task> read = async () =>
        {
            await foreach (StreamingChatCompletionUpdate update in g.Chat.CompleteChatStreamingAsync(SayHello))
            {
                _ = update;
            }
        };

        await read.Should().ThrowAsync<Exception>();
        (await g.SettlementsAsync()).Should().BeEmpty();
        g.Held.Should().Be(0m);
        g.Ledger.GetBalance(GuardedOpenAi.Customer).Balance.ToDecimal().Should().Be(10m);
    }

    [Test]
    public async Task CompleteChat_ServerError_ReleasesTheHold_AndChargesNothing()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        g.Server.Respond = _ => CannedResponse.Json(OpenAiFixtures.Error(), status: 500);
        using UsageScope.Closer scope = Acme();

        Func<Task> call = () => g.Chat.CompleteChatAsync(SayHello);

        (await call.Should().ThrowAsync<ClientResultException>()).Which.Status.Should().Be(500);
        g.Server.Requests.Should().ContainSingle();
        g.Guard.Reservations.Should().Be(1);
        (await g.SettlementsAsync()).Should().BeEmpty();
        g.Held.Should().Be(0m);
        g.Ledger.GetBalance(GuardedOpenAi.Customer).Balance.ToDecimal().Should().Be(10m);
    }

    [Test]
    public async Task CompleteChat_RetriedByTheSdk_ReservesEachAttemptOnItsOwn_ReleasingTheFailedOne()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        int attempts = 0;
        g.Server.Respond = _ => Interlocked.Increment(ref attempts) == 1
            ? CannedResponse.Json(OpenAiFixtures.Error(), status: 503)
            : CannedResponse.Json(OpenAiFixtures.Completion());
        var retrying = new ChatClient("gpt-test", new ApiKeyCredential("sk-test"), new OpenAIClientOptions
        {
            Endpoint = g.Server.Endpoint,
            Transport = new HttpClientPipelineTransport(g.Http),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 1),
        });
        using UsageScope.Closer scope = Acme();

        await retrying.CompleteChatAsync(SayHello);

        (g.Server.Requests.Count, g.Guard.Reservations).Should().Be((2, 2));
        (await g.ChargedAsync()).Should().Be(UsagePricedForRequested, "the failed attempt was released, the second settled");
        g.Held.Should().Be(0m);
    }

    [Test]
    public async Task CompleteChat_ServerError_WithChargeEstimate_ChargesTheInputEstimate_MarkedEstimated()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync(configure: o => o.OnProviderError = ProviderErrorPolicy.ChargeEstimate);
        g.Server.Respond = _ => CannedResponse.Json(OpenAiFixtures.Error(), status: 500);
        using UsageScope.Closer scope = Acme();

        Func<Task> call = () => g.Chat.CompleteChatAsync(SayHello);

        await call.Should().ThrowAsync<ClientResultException>();
        (await g.ChargedAsync()).Should().Be(Price(InputEstimate, 0));
        (await g.SettlementsAsync()).Should().ContainSingle().Which.Reason.Should().Be(TokenSettlement.EstimatedReason);
    }

    [Test]
    public async Task CompleteChat_Refused_ThrowsUsageLimitExceeded_AndNeverCallsTheServer_EvenWithTheSdksRetries()
    {
        // 0.00001 credits: far less than the hold (7 × 2 + 4,096 × 8 per million).
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync(credits: 0.00001m, sdkRetries: true);
        using UsageScope.Closer scope = Acme();

        Func<Task> call = () => g.Chat.CompleteChatAsync(SayHello);
        Func<Task> stream = async () =>
        {
            await foreach (StreamingChatCompletionUpdate update in g.Chat.CompleteChatStreamingAsync(SayHello))
            {
                _ = update;
            }
        };

        UsageLimitExceededException refused = (await call.Should().ThrowAsync<UsageLimitExceededException>()).Which;
        await stream.Should().ThrowAsync<UsageLimitExceededException>();
        refused.CustomerId.Should().Be(GuardedOpenAi.Customer);
        refused.Status.Should().Be(ReservationStatus.InsufficientCredits);
        g.Server.Requests.Should().BeEmpty();
        g.Guard.Reservations.Should().Be(2, "one per call: the SDK's retry policy does not retry the refusal");
        (await g.SettlementsAsync()).Should().BeEmpty();
    }

    [Test]
    public async Task CompleteChat_ForACustomerNeverGrantedCredits_ThrowsTheGuardsUnknownCustomer_AndIsNeverSent()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync(credits: 0m);
        using UsageScope.Closer scope = Acme();

        Func<Task> call = () => g.Chat.CompleteChatAsync(SayHello);

        await call.Should().ThrowAsync<UnknownCustomerException>();
        g.Server.Requests.Should().BeEmpty();
    }

    [Test]
    public async Task CompleteChat_TooFewCreditsForTheHold_IsRefusedBeforeItIsSent()
    {
        // 7 input tokens × 2 + 4,096 default output tokens × 8, per million = 0.032782: more than 0.03.
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync(credits: 0.03m);
        using UsageScope.Closer scope = Acme();

        Func<Task> call = () => g.Chat.CompleteChatAsync(SayHello);
        Func<Task> smaller = () => g.Chat.CompleteChatAsync(SayHello, new ChatCompletionOptions { MaxOutputTokenCount = 1_000 });

        await call.Should().ThrowAsync<UsageLimitExceededException>();
        g.Server.Requests.Should().BeEmpty();
        await smaller.Should().NotThrowAsync("a hold of 7 × 2 + 1,000 × 8 per million fits");
        g.Server.Requests.Should().ContainSingle();
    }

    [Test]
    public async Task CompleteChat_ConcurrentCallsAtTheWalletsEdge_AdmitExactlyTheHoldsThatFit()
    {
        // Exactly three holds of 7 × 2 + 1,000 × 8 per million fit; each call is held in flight until all have been decided.
        decimal hold = Price(InputEstimate, 1_000);
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync(credits: 3 * hold);
        var decided = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        g.Server.Respond = _ => new CannedResponse { Chunks = [OpenAiFixtures.Completion()], BeforeResponse = () => decided.Task };
        using UsageScope.Closer scope = Acme();
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 1_000 };

        Task[] calls = [.. Enumerable.Range(0, 12).Select(_ => Task.Run(() => g.Chat.CompleteChatAsync(SayHello, options)))];
        while (g.Guard.Reservations < calls.Length)
        {
            await Task.Delay(10, Soon);
        }

        decided.SetResult();
        Task all = Task.WhenAll(calls);
        await all.ContinueWith(_ => { }, TaskScheduler.Default);

        calls.Count(c => c.IsCompletedSuccessfully).Should().Be(3);
        calls.Where(c => c.IsFaulted).Should().HaveCount(9).And.OnlyContain(c => c.Exception!.InnerException is UsageLimitExceededException);
        g.Server.Requests.Should().HaveCount(3);
        (await g.ChargedAsync()).Should().Be(3 * UsagePricedForRequested);
        g.Held.Should().Be(0m);
    }

    [Test]
    public async Task CompleteChat_WithoutACustomer_ThrowsBeforeSending()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();

        Func<Task> call = () => g.Chat.CompleteChatAsync(SayHello);

        (await call.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("UsageScope");
        g.Server.Requests.Should().BeEmpty();
    }

    [Test]
    public async Task ContextResolver_NamesTheCustomer_WhenNoScopeDoes()
    {
        HttpRequestMessage? seen = null;
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync(configure: o => o.ContextResolver = r =>
        {
            seen = r;
            return new UsageContext { CustomerId = GuardedOpenAi.Customer, Subject = "resolved" };
        });

        await g.Chat.CompleteChatAsync(SayHello);

        seen!.RequestUri!.AbsolutePath.Should().Be("/v1/chat/completions");
        (await g.SettlementsAsync()).Should().ContainSingle().Which.Subject.Should().Be("resolved");
    }

    [Test]
    public async Task Post_StreamWithoutStreamOptions_IsSentAskingForUsage_AndChargedFromIt()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        g.Server.Respond = r => CannedResponse.Events(OpenAiFixtures.Stream(["Hello"], includeUsage: r.IncludeUsage));
        using UsageScope.Closer scope = Acme();

        string body = await PostAsync(g, """{"model":"gpt-test","messages":[{"role":"user","content":"Say hello"}],"stream":true}""");

        body.Should().Contain("\"usage\":{\"prompt_tokens\":1000", "the caller gets the usage chunk the handler asked for");
        g.Server.Requests.Should().ContainSingle().Which.IncludeUsage.Should().BeTrue();
        (await g.ChargedAsync()).Should().Be(UsagePricedForRequested);
    }

    [Test]
    public async Task Post_StreamWithoutStreamOptions_AndRequestStreamUsageOff_IsSentAsIs_AndChargedFromTheEstimate()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync(configure: o => o.RequestStreamUsage = false);
        g.Server.Respond = r => CannedResponse.Events(OpenAiFixtures.Stream(["Hello"], includeUsage: r.IncludeUsage));
        using UsageScope.Closer scope = Acme();
        const string Request = """{"model":"gpt-test","messages":[{"role":"user","content":"Say hello"}],"stream":true}""";

        await PostAsync(g, Request);

        g.Server.Requests.Should().ContainSingle().Which.Body.Should().Be(Request);
        (await g.ChargedAsync()).Should().Be(Price(InputEstimate, 2));
        (await g.SettlementsAsync()).Should().ContainSingle().Which.Reason.Should().Be(TokenSettlement.EstimatedReason);
    }

    [Test]
    public async Task Post_StreamWithIncludeUsageFalse_IsLeftAsTheCallerSentIt()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        g.Server.Respond = r => CannedResponse.Events(OpenAiFixtures.Stream(["Hello"], includeUsage: r.IncludeUsage));
        using UsageScope.Closer scope = Acme();
        const string Request = """{"model":"gpt-test","messages":[{"role":"user","content":"Say hello"}],"stream":true,"stream_options":{"include_usage":false}}""";

        await PostAsync(g, Request);

        g.Server.Requests.Should().ContainSingle().Which.Body.Should().Be(Request);
        (await g.SettlementsAsync()).Should().ContainSingle().Which.Reason.Should().Be(TokenSettlement.EstimatedReason);
    }

    [Test]
    public async Task Post_TheCallerReadsExactlyTheBytesTheServerSent()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        IReadOnlyList<string> events = OpenAiFixtures.Stream(["Hello", " wörld ✓ \n"], includeUsage: true);
        g.Server.Respond = r => r.Json.TryGetProperty("stream", out _)
            ? CannedResponse.Events(events)
            : CannedResponse.Json(OpenAiFixtures.Completion(content: "ünïcode ✓"));
        using UsageScope.Closer scope = Acme();

        string streamed = await PostAsync(g, """{"model":"gpt-test","messages":[{"role":"user","content":"Say hello"}],"stream":true}""");
        string json = await PostAsync(g, """{"model":"gpt-test","messages":[{"role":"user","content":"Say hello"}]}""");

        streamed.Should().Be(string.Concat(events.Select(e => $"data: {e}\n\n")));
        json.Should().Be(OpenAiFixtures.Completion(content: "ünïcode ✓"));
        (await g.ChargedAsync()).Should().Be(2 * UsagePricedForRequested);
    }

    [Test]
    public async Task Post_ContextHeaders_WhenRead_NameTheContext_AndNeverReachTheProvider()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync(configure: o => o.ReadContextHeaders = true);
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-test","messages":[{"role":"user","content":"Say hello"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(UsageHeaders.CustomerId, GuardedOpenAi.Customer);
        request.Headers.Add(UsageHeaders.Subject, "eng/api");
        request.Headers.Add(UsageHeaders.SessionId, "s-9");
        request.Headers.Add(UsageHeaders.Tags, "batch, nightly");
        request.Headers.Add(UsageHeaders.RequestId, "r-9");

        using HttpResponseMessage response = await g.Http.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        LedgerEntry settle = (await g.SettlementsAsync()).Should().ContainSingle().Subject;
        (settle.Subject, settle.SessionId, settle.RequestId).Should().Be(("eng/api", "s-9", "r-9"));
        g.Server.Requests.Should().ContainSingle().Which.Headers.Keys.Should().NotContain(k => k.StartsWith("X-UsageGuard", StringComparison.OrdinalIgnoreCase));
    }

    [Test]
    public async Task Post_ContextHeaders_ByDefault_AreIgnored_AndStillRemoved()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        using UsageScope.Closer scope = UsageScope.Begin(new UsageContext { CustomerId = GuardedOpenAi.Customer, Subject = "from-scope" });
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-test","messages":[{"role":"user","content":"Say hello"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(UsageHeaders.CustomerId, "someone-else");
        request.Headers.Add(UsageHeaders.Subject, "spoofed");

        using HttpResponseMessage response = await g.Http.SendAsync(request);

        (await g.SettlementsAsync()).Should().ContainSingle().Which.Subject.Should().Be("from-scope");
        g.Server.Requests.Should().ContainSingle().Which.Headers.Keys.Should().NotContain(k => k.StartsWith("X-UsageGuard", StringComparison.OrdinalIgnoreCase));
    }

    [Test]
    public async Task Send_OtherRequests_PassThroughUnguarded()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync(credits: 0m);
        g.Server.Respond = _ => CannedResponse.Json("""{"object":"list","data":[]}""");

        using HttpResponseMessage models = await g.Http.GetAsync("models");
        using HttpResponseMessage embeddings = await g.Http.PostAsync("embeddings", new StringContent("""{"model":"e","input":"x"}""", Encoding.UTF8, "application/json"));

        (await models.Content.ReadAsStringAsync()).Should().Be("""{"object":"list","data":[]}""");
        embeddings.StatusCode.Should().Be(HttpStatusCode.OK, "no customer and no credits: not a chat completion, so not guarded");
        g.Server.Requests.Select(r => (r.Method, r.Path)).Should().Equal(("GET", "/v1/models"), ("POST", "/v1/embeddings"));
        g.Server.Requests.Last().Body.Should().Be("""{"model":"e","input":"x"}""");
    }

    [Test]
    public async Task Post_WithoutAModel_UsesTheDefaultModel_OrThrowsBeforeSending()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        using UsageScope.Closer scope = Acme();
        const string NoModel = """{"messages":[{"role":"user","content":"Say hello"}]}""";

        Func<Task> unpriced = () => PostAsync(g, NoModel);

        (await unpriced.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("DefaultModelId");
        g.Server.Requests.Should().BeEmpty();

        await using GuardedOpenAi withDefault = await GuardedOpenAi.StartAsync(configure: o => o.DefaultModelId = "gpt-test");
        await PostAsync(withDefault, NoModel);
        (await withDefault.ChargedAsync()).Should().Be(UsagePricedForRequested);
    }

    [Test]
    public async Task Post_ABodyThatIsNotJson_ThrowsBeforeSending()
    {
        await using GuardedOpenAi g = await GuardedOpenAi.StartAsync();
        using UsageScope.Closer scope = Acme();

        Func<Task> call = () => PostAsync(g, "not json");

        await call.Should().ThrowAsync<InvalidOperationException>();
        g.Server.Requests.Should().BeEmpty();
        g.Held.Should().Be(0m);
    }

    [Test]
    public void Constructor_RejectsBadArguments()
    {
        Action noGuard = () => _ = new UsageGuardHttpHandler(null!);
        Action negative = () => _ = new UsageGuardHttpHandler(new RecordingGuard(), new UsageGuardHttpHandlerOptions { DefaultMaxOutputTokens = -1 });
        Action noEstimator = () => _ = new UsageGuardHttpHandler(new RecordingGuard(), new UsageGuardHttpHandlerOptions { TokenEstimator = null! });

        noGuard.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("guard");
        negative.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("options.DefaultMaxOutputTokens");
        noEstimator.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("options.TokenEstimator");
    }

    [TestCase("POST", "https://api.openai.com/v1/chat/completions", true)]
    [TestCase("POST", "https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21", true)]
    [TestCase("POST", "http://localhost:8000/v1/chat/completions/", true)]
    [TestCase("GET", "https://api.openai.com/v1/chat/completions", false)]
    [TestCase("POST", "https://api.openai.com/v1/completions", false)]
    [TestCase("POST", "https://api.openai.com/v1/responses", false)]
    [TestCase("POST", "https://api.openai.com/v1/chat/completions/abc/messages", false)]
    public void IsChatCompletions_MatchesPostsToChatCompletionsOnly(string method, string uri, bool expected)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), uri);

        UsageGuardHttpHandler.IsChatCompletions(request).Should().Be(expected);
    }

    private static async Task<string> PostAsync(GuardedOpenAi g, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await g.Http.PostAsync("chat/completions", content);
        return await response.Content.ReadAsStringAsync();
    }
}
