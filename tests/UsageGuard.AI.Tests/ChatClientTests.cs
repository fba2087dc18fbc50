using System.Runtime.CompilerServices;
using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace UsageGuard.AI.Tests;

public sealed class ChatClientTests
{
    // "hello world!" is 12 characters: 3 tokens of text and 4 of framing.
    private static readonly ChatMessage[] Hello = [new(ChatRole.User, "hello world!")];
    private const long HelloTokens = 7;

    // Input 1,000 of which 200 cached; output 500 of which 100 reasoning (Microsoft.Extensions.AI counts both as subsets).
    private static UsageDetails Reported() => new() { InputTokenCount = 1_000, CachedInputTokenCount = 200, OutputTokenCount = 500, ReasoningTokenCount = 100 };

    private static readonly decimal ReportedPrice = AiHarness.Price(800, 200, 400, 100);

    [Test]
    public async Task GetResponse_HoldsTheEstimate_ThenSettlesTheReportedUsage_PricedAsFourDisjointClasses()
    {
        await using AiHarness h = await AiHarness.StartAsync();
        decimal heldDuringCall = -1;
        h.Inner.OnResponse = (_, _, _) =>
        {
            heldDuringCall = h.Held();
            return Task.FromResult(TestChatClient.Text("hi", Reported()));
        };

        ChatResponse response = await h.Client.GetResponseAsync(Hello, AiHarness.For(maxOutput: 100));

        response.Text.Should().Be("hi");
        heldDuringCall.Should().Be(AiHarness.Price(HelloTokens, 0, 100, 0), "the input estimate and MaxOutputTokens, priced for m");
        ReportedPrice.Should().Be(0.021m);
        h.Balance().Should().Be(1_000m - 0.021m);
        h.Held().Should().Be(0m);
        IReadOnlyList<LedgerEntry> settled = await h.SettleEntriesAsync();
        settled.Select(e => e.ReservationId).Distinct().Should().ContainSingle("one settlement (the hold, then the rest past it)");
        settled.Should().OnlyContain(e => e.Reason == null && e.Model == "m", "measured, not estimated");
    }

    [Test]
    public async Task GetResponse_WithoutUsage_SettlesTheEstimate_MarkedEstimated_NeverZero()
    {
        await using AiHarness h = await AiHarness.StartAsync();
        h.Inner.OnResponse = (_, _, _) => Task.FromResult(TestChatClient.Text("abcdefgh"));

        await h.Client.GetResponseAsync(Hello, AiHarness.For());

        decimal charged = 1_000m - h.Balance();
        charged.Should().Be(AiHarness.Price(HelloTokens, 0, 2, 0), "the input estimate and 8 characters of output, 2 tokens");
        (await h.SettleEntriesAsync()).Should().ContainSingle().Which.Reason.Should().Be(TokenSettlement.EstimatedReason);
    }

    [Test]
    public async Task GetResponse_ExactInputCountFromTheHost_IsHeldInsteadOfTheEstimate()
    {
        await using AiHarness h = await AiHarness.StartAsync();
        decimal held = -1;
        h.Inner.OnResponse = (_, _, _) =>
        {
            held = h.Held();
            return Task.FromResult(TestChatClient.Text("hi", Reported()));
        };
        ChatOptions options = AiHarness.For(maxOutput: 0);
        options.AdditionalProperties![UsageProperties.InputTokens] = 12_345L;

        await h.Client.GetResponseAsync(Hello, options);

        held.Should().Be(AiHarness.Price(12_345, 0, 0, 0));
    }

    [Test]
    public async Task GetResponse_AnsweredByADatedModel_IsPricedForTheModelThatAnswered()
    {
        await using AiHarness h = await AiHarness.StartAsync();
        h.Inner.OnResponse = (_, _, _) => Task.FromResult(TestChatClient.Text("hi", new UsageDetails { InputTokenCount = 1_000, OutputTokenCount = 1_000 }, model: "m-2026-01-01"));

        await h.Client.GetResponseAsync(Hello, AiHarness.For());

        (1_000m - h.Balance()).Should().Be(0.002m, "2,000 tokens at 1 per million: m-2026*'s rate, not m's");
    }

    [Test]
    public async Task GetResponse_Refused_ThrowsWithStatus_AndNeverCallsTheModel()
    {
        await using AiHarness h = await AiHarness.StartAsync(credits: 0.000001m);
        h.Inner.OnResponse = (_, _, _) => Task.FromResult(TestChatClient.Text("hi", Reported()));

        Func<Task> call = () => h.Client.GetResponseAsync(Hello, AiHarness.For());

        UsageLimitExceededException refused = (await call.Should().ThrowAsync<UsageLimitExceededException>()).Which;
        refused.Status.Should().Be(ReservationStatus.InsufficientCredits);
        refused.CustomerId.Should().Be("acme");
        refused.Scope.Should().StartWith("wallet:");
        h.Inner.Calls.Should().Be(0);
    }

    [Test]
    public async Task GetResponse_DeniedByATeamBudget_NamesTheLevelAndWindow()
    {
        await using AiHarness h = await AiHarness.StartAsync(governance: g =>
        {
            var acme = new CustomerGovernanceOptions { CustomerId = "acme" };
            acme.Subjects.Add(new SubjectOptions { Id = "search" });
            var team = new BudgetOptions { Id = "search-daily", Subject = "search" };
            team.Limits.Add(new BudgetLimitOptions { Amount = 0.001m, Window = "day" });
            acme.Budgets.Add(team);
            g.Customers.Add(acme);
        });
        h.Inner.OnResponse = (_, _, _) => Task.FromResult(TestChatClient.Text("hi", Reported()));

        Func<Task> call = () => h.Client.GetResponseAsync(Hello, AiHarness.For(subject: "search"));

        UsageLimitExceededException refused = (await call.Should().ThrowAsync<UsageLimitExceededException>()).Which;
        refused.Status.Should().Be(ReservationStatus.BudgetExceeded);
        refused.Budget!.Value.Subject.Should().Be("search");
        refused.Budget!.Value.Window.Should().Be(UsageWindow.Day);
        refused.RetryAfter.Should().Be(TimeSpan.FromHours(14), "the day resets at midnight UTC; it is 10:00");
        h.Inner.Calls.Should().Be(0);
    }

    [TestCase(ProviderErrorPolicy.Release, 0)]
    [TestCase(ProviderErrorPolicy.ChargeEstimate, 7)]
    public async Task GetResponse_ProviderThrows_ReleasesOrChargesTheEstimate_AsThePolicySays(ProviderErrorPolicy policy, long chargedInputTokens)
    {
        await using AiHarness h = await AiHarness.StartAsync(configure: o => o.OnProviderError = policy);
        h.Inner.OnResponse = (_, _, _) => throw new HttpRequestException("502 from the provider");

        Func<Task> call = () => h.Client.GetResponseAsync(Hello, AiHarness.For());

        await call.Should().ThrowAsync<HttpRequestException>();
        h.Held().Should().Be(0m);
        (1_000m - h.Balance()).Should().Be(AiHarness.Price(chargedInputTokens, 0, 0, 0));
    }

    [Test]
    public async Task Context_OptionsWinOverTheScope_WhichWinsOverTheResolver_FieldByField()
    {
        var seen = new List<(string? Customer, string? Subject, string? Session)>();
        await using AiHarness h = await AiHarness.StartAsync(configure: o => o.ContextResolver = (_, _) => new UsageContext { CustomerId = "acme", Subject = "from-resolver" });
        await h.Ledger.GrantAsync(new CreditGrant { CustomerId = "globex", Amount = 10m });
        h.Inner.OnResponse = (_, _, _) => Task.FromResult(TestChatClient.Text("hi", Reported()));

        await h.Client.GetResponseAsync(Hello, new ChatOptions());
        using (UsageScope.Begin(new UsageContext { CustomerId = "acme", SessionId = "run-1", Subject = "from-scope" }))
        {
            await h.Client.GetResponseAsync(Hello, new ChatOptions().WithUsageContext(new UsageContext { CustomerId = "globex" }));
            await h.Client.GetResponseAsync(Hello, new ChatOptions());
        }

        foreach (LedgerEntry e in (await h.SettleEntriesAsync("acme")).Concat(await h.SettleEntriesAsync("globex")).OrderBy(e => e.Sequence))
        {
            seen.Add((e.CustomerId, e.Subject, e.SessionId));
        }

        seen.Should().Equal(("acme", "from-resolver", null), ("globex", "from-scope", "run-1"), ("acme", "from-scope", "run-1"));
    }

    [Test]
    public async Task Context_NoCustomerAnywhere_ThrowsNamingTheWaysToSetOne()
    {
        await using AiHarness h = await AiHarness.StartAsync();

        Func<Task> call = () => h.Client.GetResponseAsync(Hello, new ChatOptions());

        (await call.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain(UsageProperties.CustomerId).And.Contain("UsageScope");
        h.Inner.Calls.Should().Be(0);
    }

    [Test]
    public async Task ToolLoop_EveryRoundTripIsReservedAndSettledOnItsOwn()
    {
        await using AiHarness h = await AiHarness.StartAsync();
        int round = 0;
        h.Inner.OnResponse = (_, _, _) =>
        {
            round++;
            ChatResponse response = round < 3
                ? new ChatResponse(new ChatMessage(ChatRole.Assistant, [new FunctionCallContent($"call-{round}", "search")])) { Usage = Reported(), ModelId = "m" }
                : TestChatClient.Text("done", Reported());
            return Task.FromResult(response);
        };

        // A function-invocation loop around the guarded client, as FunctionInvokingChatClient would run it.
        var messages = new List<ChatMessage>(Hello);
        while (true)
        {
            ChatResponse response = await h.Client.GetResponseAsync(messages, AiHarness.For());
            messages.AddRange(response.Messages);
            if (response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().FirstOrDefault() is not { } call)
            {
                break;
            }

            messages.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.CallId, "result")]));
        }

        (await h.SettleEntriesAsync()).Select(e => e.ReservationId).Distinct().Should().HaveCount(3);
        (1_000m - h.Balance()).Should().Be(3 * ReportedPrice);
    }

    [Test]
    public async Task Stream_SumsEveryUsageChunk_AndPassesUpdatesThroughAsTheyCome()
    {
        await using AiHarness h = await AiHarness.StartAsync();
        var secondMayGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Inner.OnStream = (_, _, ct) => Updates(ct);

        async IAsyncEnumerable<ChatResponseUpdate> Updates([EnumeratorCancellation] CancellationToken ct)
        {
            yield return TestChatClient.Chunk("Hel");

            // Not produced until the caller has the first update: the guard must not buffer.
            await secondMayGo.Task.WaitAsync(ct);
            yield return TestChatClient.Chunk("lo");
            yield return TestChatClient.UsageChunk(new UsageDetails { InputTokenCount = 1_000, CachedInputTokenCount = 200 });
            yield return TestChatClient.UsageChunk(new UsageDetails { OutputTokenCount = 500, ReasoningTokenCount = 100 });
        }

        var texts = new List<string>();
        await foreach (ChatResponseUpdate update in h.Client.GetStreamingResponseAsync(Hello, AiHarness.For()))
        {
            texts.Add(update.Text);
            secondMayGo.TrySetResult();
        }

        texts.Should().Equal("Hel", "lo", "", "");
        (1_000m - h.Balance()).Should().Be(ReportedPrice);
        IReadOnlyList<LedgerEntry> settled = await h.SettleEntriesAsync();
        settled.Select(e => e.ReservationId).Distinct().Should().ContainSingle();
        settled.Should().OnlyContain(e => e.Reason == null);
    }

    [Test]
    public async Task Stream_BrokenOffEarly_SettlesOnce_FromTheEstimate_MarkedEstimated()
    {
        await using AiHarness h = await AiHarness.StartAsync();
        bool innerDisposed = false;
        h.Inner.OnStream = (_, _, ct) => Updates(ct);

        async IAsyncEnumerable<ChatResponseUpdate> Updates([EnumeratorCancellation] CancellationToken ct)
        {
            try
            {
                yield return TestChatClient.Chunk("abcd");
                yield return TestChatClient.Chunk("efgh");
                yield return TestChatClient.UsageChunk(Reported());
            }
            finally
            {
                innerDisposed = true;
            }
        }

        await foreach (ChatResponseUpdate update in h.Client.GetStreamingResponseAsync(Hello, AiHarness.For()))
        {
            break;
        }

        innerDisposed.Should().BeTrue("the inner stream is disposed with the outer one");
        h.Held().Should().Be(0m);
        (1_000m - h.Balance()).Should().Be(AiHarness.Price(HelloTokens, 0, 1, 0), "the input estimate and the 4 characters seen");
        (await h.SettleEntriesAsync()).Should().ContainSingle().Which.Reason.Should().Be(TokenSettlement.EstimatedReason);
    }

    [Test]
    public async Task Stream_CancelledMidStream_ChargesWhatWasProduced_AndRethrows()
    {
        await using AiHarness h = await AiHarness.StartAsync();
        using var cts = new CancellationTokenSource();
        h.Inner.OnStream = (_, _, ct) => Updates(ct);

        static async IAsyncEnumerable<ChatResponseUpdate> Updates([EnumeratorCancellation] CancellationToken ct)
        {
            yield return TestChatClient.Chunk("abcdefgh");
            await Task.Delay(Timeout.Infinite, ct);
            yield return TestChatClient.Chunk("never");
        }

        Func<Task> read = async () =>
        {
            await foreach (ChatResponseUpdate update in h.Client.GetStreamingResponseAsync(Hello, AiHarness.For(), cts.Token))
            {
                await cts.CancelAsync();
            }
        };

        await read.Should().ThrowAsync<OperationCanceledException>();
        h.Held().Should().Be(0m);
        (1_000m - h.Balance()).Should().Be(AiHarness.Price(HelloTokens, 0, 2, 0));
        (await h.SettleEntriesAsync()).Should().ContainSingle().Which.Reason.Should().Be(TokenSettlement.EstimatedReason);
    }

    [TestCase(ProviderErrorPolicy.Release, 0)]
    [TestCase(ProviderErrorPolicy.ChargeEstimate, 7)]
    public async Task Stream_ProviderThrowsBeforeTheFirstChunk_ReleasesOrChargesAsThePolicySays(ProviderErrorPolicy policy, long chargedInputTokens)
    {
        await using AiHarness h = await AiHarness.StartAsync(configure: o => o.OnProviderError = policy);
        h.Inner.OnStream = (_, _, _) => Failing();

        static async IAsyncEnumerable<ChatResponseUpdate> Failing()
        {
            await Task.Yield();
            throw new HttpRequestException("503 from the provider");
#pragma warning disable CS0162 // Unreachable code: the iterator needs a yield to be one.
            yield break;
#pragma warning restore CS0162
        }

        Func<Task> read = async () =>
        {
            await foreach (ChatResponseUpdate update in h.Client.GetStreamingResponseAsync(Hello, AiHarness.For()))
            {
            }
        };

        await read.Should().ThrowAsync<HttpRequestException>();
        h.Held().Should().Be(0m);
        (1_000m - h.Balance()).Should().Be(AiHarness.Price(chargedInputTokens, 0, 0, 0));
    }

    [Test]
    public async Task Stream_WithoutAnyUsage_SettlesTheEstimateOfTheTextSeen()
    {
        await using AiHarness h = await AiHarness.StartAsync();
        h.Inner.OnStream = (_, _, _) => Updates();

        static async IAsyncEnumerable<ChatResponseUpdate> Updates()
        {
            await Task.Yield();
            yield return TestChatClient.Chunk("abcd");
            yield return TestChatClient.Chunk("efghi");
        }

        await foreach (ChatResponseUpdate update in h.Client.GetStreamingResponseAsync(Hello, AiHarness.For()))
        {
        }

        (1_000m - h.Balance()).Should().Be(AiHarness.Price(HelloTokens, 0, 3, 0), "9 characters are 3 tokens");
        (await h.SettleEntriesAsync()).Should().ContainSingle().Which.Reason.Should().Be(TokenSettlement.EstimatedReason);
    }

    [Test]
    public async Task Stream_Refused_ThrowsOnTheFirstMoveNext_AndNeverCallsTheModel()
    {
        await using AiHarness h = await AiHarness.StartAsync(credits: 0.000001m);
        h.Inner.OnStream = (_, _, _) => throw new InvalidOperationException("must not be called");

        IAsyncEnumerable<ChatResponseUpdate> stream = h.Client.GetStreamingResponseAsync(Hello, AiHarness.For());
        Func<Task> read = async () =>
        {
            await foreach (ChatResponseUpdate update in stream)
            {
            }
        };

        (await read.Should().ThrowAsync<UsageLimitExceededException>()).Which.Status.Should().Be(ReservationStatus.InsufficientCredits);
        h.Inner.Calls.Should().Be(0);
    }

    [TestCase(1, false)]
    [TestCase(2, false)]
    [TestCase(3, true)]
    [TestCase(4, true)]
    public async Task Parallel_200CallsAgainstABudgetThatPaysForExactlyN_ExactlyNSucceed(int seed, bool streaming)
    {
        const int n = 37;

        // Each call reports exactly what it held, so no settlement frees room for a later call: exactly n fit.
        decimal perCall = AiHarness.Price(HelloTokens, 0, 50, 0);
        await using AiHarness h = await AiHarness.StartAsync(credits: n * perCall);
        var random = new Random(seed);
        int[] delays = Enumerable.Range(0, 200).Select(_ => random.Next(0, 3)).ToArray();
        h.Inner.OnResponse = async (_, _, _) =>
        {
            await Task.Yield();
            return TestChatClient.Text("x", new UsageDetails { InputTokenCount = HelloTokens, OutputTokenCount = 50 });
        };
        h.Inner.OnStream = (_, _, _) => Updates();

        static async IAsyncEnumerable<ChatResponseUpdate> Updates()
        {
            await Task.Yield();
            yield return TestChatClient.Chunk("x");
            yield return TestChatClient.UsageChunk(new UsageDetails { InputTokenCount = HelloTokens, OutputTokenCount = 50 });
        }

        using var start = new ManualResetEventSlim(false);
        Task<bool>[] calls = Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            start.Wait();
            await Task.Delay(delays[i]);
            try
            {
                if (streaming)
                {
                    await foreach (ChatResponseUpdate update in h.Client.GetStreamingResponseAsync(Hello, AiHarness.For(maxOutput: 50)))
                    {
                    }
                }
                else
                {
                    await h.Client.GetResponseAsync(Hello, AiHarness.For(maxOutput: 50));
                }

                return true;
            }
            catch (UsageLimitExceededException e) when (e.Status == ReservationStatus.InsufficientCredits)
            {
                return false;
            }
        })).ToArray();
        start.Set();
        bool[] results = await Task.WhenAll(calls);

        results.Count(ok => ok).Should().Be(n);
        h.Inner.Calls.Should().Be(n, "a refused call never reaches the model");
        h.Balance().Should().Be(0m);
        h.Held().Should().Be(0m);
        (await h.SettleEntriesAsync()).Should().HaveCount(n);
    }

    [Test]
    public void FromUsage_SubtractsTheSubsets_AndClampsInconsistentCounts()
    {
        UsageGuardChatClient.FromUsage(Reported(), 0, 0).Should().Be(new TokenUsage(800, 200, 400, 100));
        UsageGuardChatClient.FromUsage(new UsageDetails { InputTokenCount = 10, CachedInputTokenCount = 50, OutputTokenCount = 5, ReasoningTokenCount = 9 }, 0, 0)
            .Should().Be(new TokenUsage(0, 10, 0, 5), "a subset larger than its whole is clamped, so nothing is priced twice");
        UsageGuardChatClient.FromUsage(new UsageDetails { OutputTokenCount = 5 }, inputEstimate: 70, outputEstimate: 0)
            .Should().Be(new TokenUsage(70, 0, 5, 0), "a count the provider left out is estimated");
    }
}
