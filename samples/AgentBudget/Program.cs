using System.Globalization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using UsageGuard;
using UsageGuard.AI;

namespace AgentBudget;

/// <summary>
/// An agent loop that trips its session budget: a model that keeps asking for one more tool call, guarded by UsageGuard,
/// is stopped by the per-run budget of its agent; a new run is admitted, and resetting the session re-opens the old one.
/// </summary>
public static class Program
{
    /// <summary>The paying customer.</summary>
    public const string Customer = "acme";

    /// <summary>The agent's node in the customer's subject tree.</summary>
    public const string Agent = "agent:researcher";

    /// <summary>The model the agent calls, priced by the catalog.</summary>
    public const string Model = "sim-large";

    /// <summary>The per-session budget: the circuit breaker of every run of the agent.</summary>
    public const string Budget = "agent-run";

    /// <summary>What one run of the agent may spend, in dollars.</summary>
    public const decimal RunCap = 0.05m;

    /// <summary>How many model calls one run of the agent may make.</summary>
    public const int MaxSteps = 10;

    private const decimal Granted = 5m;
    private const decimal InputPerMillion = 3m;
    private const decimal OutputPerMillion = 15m;
    private const int MaxOutputTokens = 500;

    // A clock that stands still: every run prints the same output.
    private static readonly DateTimeOffset s_now = new(2026, 5, 18, 9, 30, 0, TimeSpan.Zero);

    /// <summary>Runs the sample on the console.</summary>
    /// <returns>0 when the session budget stopped the loop and the new and the reset sessions ran; otherwise 1.</returns>
    public static Task<int> Main() => RunAsync(Console.Out);

    /// <summary>Runs the sample, writing what happens to <paramref name="output"/>.</summary>
    /// <param name="output">Where the report goes.</param>
    /// <returns>0 when the session budget stopped the loop and the new and the reset sessions ran; otherwise 1.</returns>
    public static async Task<int> RunAsync(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        await using ServiceProvider services = Build();
        var ledger = services.GetRequiredService<ICreditLedger>();
        var governance = services.GetRequiredService<IUsageGovernance>();
        await ledger.GrantAsync(new CreditGrant { CustomerId = Customer, Amount = Granted });

        // The guard sits between the agent loop and the model: each model call of each step is reserved and settled on its own.
        using UsageGuardChatClient model = new ScriptedChatClient().WithUsageGuard(services);
        var options = new ChatOptions { ModelId = Model, MaxOutputTokens = MaxOutputTokens };
        decimal stepCosts = 0;

        Say($"UsageGuard agent budget: a runaway agent loop, stopped by its session budget");
        Say($"   budget '{Budget}' on {Agent} (under research), per session: {Usd(RunCap)} and {MaxSteps} model calls per run");
        Say($"   model {Model}: ${InputPerMillion:0.00} / ${OutputPerMillion:0.00} per million input / output tokens; each step holds its input + {MaxOutputTokens} output tokens");
        Say($"   wallet: {Usd(Granted)} granted to {Customer}");

        // 1. The model never decides it is done: each answer asks for one more search, and the conversation grows by a page of
        //    results per step, so each step costs more than the last. The step whose hold no longer fits is refused, and trips the run.
        Heading("1. Run run-1: the agent loops until its session budget refuses a step");
        List<ChatMessage> run1 = NewRun("Survey the cost of grid-scale energy storage and cite every source.");
        UsageLimitExceededException? tripped = await RunAgentAsync("run-1", run1, MaxSteps + 1);
        if (tripped is null)
        {
            Say($"   the loop was never stopped");
            return 1;
        }

        PrintDenial(tripped);

        // 2. The breaker stays open: even a request small enough for what is left is refused, without reaching the model.
        Heading("2. The breaker is open: a short follow-up in run-1 is refused too");
        UsageLimitExceededException? followUp = await AskAsync("run-1", "Stop searching and summarise what you have.");
        if (followUp is null)
        {
            Say($"   admitted: the breaker did not stay open");
            return 1;
        }

        BudgetUsage left = SessionRow("run-1", LimitMeasure.Credits);
        Say($"   refused: {followUp.Status} at {followUp.Scope}, tripped by '{followUp.Budget?.BudgetId}'; it would have fit in the {Usd(left.Remaining)} left");

        // 3. Sessions are counted apart: a new run of the same agent starts with a full budget.
        Heading("3. Run run-2: a new session of the same agent runs");
        List<ChatMessage> run2 = NewRun("Compare sodium-ion and lithium iron phosphate cells for home storage.");
        if (await RunAgentAsync("run-2", run2, 3) is not null)
        {
            return 1;
        }

        // 4. An operator resets the tripped run: the breaker closes and what the run used is forgotten; its next step is admitted.
        Heading("4. ResetSession re-opens run-1");
        bool reset = governance.ResetSession(Customer, "run-1");
        BudgetUsage afterReset = SessionRow("run-1", LimitMeasure.Credits);
        Say($"   ResetSession({Customer}, run-1): {reset}; run-1 used {Usd(afterReset.Used)}, tripped {afterReset.Tripped}");
        if (await RunAgentAsync("run-1", run1, 1) is not null)
        {
            return 1;
        }

        Heading("5. Session budgets");
        Say($"   {"session",-8} {"measure",-9} {"limit",10} {"used",10} {"remaining",10}  tripped");
        foreach (string session in new[] { "run-1", "run-2" })
        {
            foreach (BudgetUsage row in governance.GetBudgetUsage(Customer, Agent, session))
            {
                if (row.BudgetId == Budget)
                {
                    Say($"   {session,-8} {row.Measure,-9} {Amount(row, row.Limit),10} {Amount(row, row.Used),10} {Amount(row, row.Remaining),10}  {row.Tripped}");
                }
            }
        }

        // Every step was charged exactly what the session budget counted for it: the wallet agrees to the micro-dollar.
        Heading("6. Wallet");
        WalletBalance wallet = ledger.GetBalance(Customer);
        decimal charged = Granted - wallet.Balance.ToDecimal();
        Say($"   granted {Usd(Granted)}, charged {Usd(charged)}, balance {Usd(wallet.Balance.ToDecimal())}, held {Usd(wallet.Held.ToDecimal())}");
        Say($"   the steps' costs add up to {Usd(stepCosts)}: {(stepCosts == charged ? "equal to the charges" : "NOT equal to the charges")}");
        return stepCosts == charged && reset ? 0 : 1;

        // Runs the agent in one session for at most `steps` model calls; returns the refusal that stopped it, if one did.
        async Task<UsageLimitExceededException?> RunAgentAsync(string session, List<ChatMessage> history, int steps)
        {
            using UsageScope.Closer scope = UsageScope.Begin(new UsageContext { CustomerId = Customer, Subject = Agent, SessionId = session });
            Say($"   {"step",4} {"input",6} {"output",6} {"cost",10} {"run total",10} {"run left",10} {"calls",6}");
            for (int i = 0; i < steps; i++)
            {
                int step = history.Count(m => m.Role == ChatRole.Assistant) + 1;
                decimal before = SessionRow(session, LimitMeasure.Credits).Used;
                ChatResponse response;
                try
                {
                    response = await model.GetResponseAsync(history, options);
                }
                catch (UsageLimitExceededException refused)
                {
                    Say($"   {step,4} refused: {refused.Status}");
                    return refused;
                }

                history.AddMessages(response);
                foreach (ChatMessage message in response.Messages)
                {
                    foreach (FunctionCallContent call in message.Contents.OfType<FunctionCallContent>())
                    {
                        string query = call.Arguments?["query"] as string ?? "";
                        history.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.CallId, CannedSearch.Run(query))]));
                    }
                }

                BudgetUsage credits = SessionRow(session, LimitMeasure.Credits);
                BudgetUsage calls = SessionRow(session, LimitMeasure.Requests);
                decimal cost = credits.Used - before;
                stepCosts += cost;
                Say($"   {step,4} {response.Usage?.InputTokenCount,6} {response.Usage?.OutputTokenCount,6} {Usd(cost),10} {Usd(credits.Used),10} {Usd(credits.Remaining),10} {calls.Used,3}/{calls.Limit}");
            }

            return null;
        }

        async Task<UsageLimitExceededException?> AskAsync(string session, string question)
        {
            using UsageScope.Closer scope = UsageScope.Begin(new UsageContext { CustomerId = Customer, Subject = Agent, SessionId = session });
            try
            {
                await model.GetResponseAsync([new ChatMessage(ChatRole.User, question)], new ChatOptions { ModelId = Model, MaxOutputTokens = 100 });
                return null;
            }
            catch (UsageLimitExceededException refused)
            {
                return refused;
            }
        }

        // The session's copy of the agent's per-session budget, one row per limit.
        BudgetUsage SessionRow(string session, LimitMeasure measure)
        {
            foreach (BudgetUsage row in governance.GetBudgetUsage(Customer, Agent, session))
            {
                if (row.BudgetId == Budget && row.Measure == measure)
                {
                    return row;
                }
            }

            throw new InvalidOperationException($"The budget '{Budget}' has no {measure} limit.");
        }

        void PrintDenial(UsageLimitExceededException refused)
        {
            if (refused.Budget is not { } denial)
            {
                Say($"   refused without a budget: {refused.Message}");
                return;
            }

            string window = denial.Window is { } w ? $"window {w}, ends {denial.WindowEnd:yyyy-MM-dd HH:mm}Z" : "no window: the limit spans the whole run";
            string retry = refused.RetryAfter is { } after ? $"retry after {after}" : "no retry-after: only a reset re-opens the session";
            Say($"   denied by budget '{denial.BudgetId}' at level {denial.Subject ?? "(whole customer)"}, session {denial.SessionId}");
            Say($"   {denial.Measure} limit {Usd(denial.Limit)}, used and held {Usd(denial.Used)}; {window}; {retry}");
            Say($"   reason: {refused.Message}");
        }

        void Heading(string text)
        {
            output.WriteLine();
            output.WriteLine(text);
        }

        void Say(FormattableString line) => output.WriteLine(FormattableString.Invariant(line));
    }

    private static ServiceProvider Build()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FixedTimeProvider(s_now));
        services.AddUsageGuard(o =>
            {
                o.CreditTypes.Add(new CreditTypeOptions { Code = "usd", Scale = 6 });
                o.DefaultCreditType = "usd";
            })
            .UseCatalog(c =>
            {
                var rate = new ModelRate { Model = Model, CreditType = "usd", InputPerMillion = InputPerMillion, OutputPerMillion = OutputPerMillion };
                rate.Aliases.Add(ScriptedChatClient.AnsweringModel);
                c.Models.Add(rate);
            })
            .UseGovernance(g => g.Customers.Add(new CustomerGovernanceOptions
            {
                CustomerId = Customer,
                Subjects =
                {
                    new SubjectOptions { Id = "research" },
                    new SubjectOptions { Id = Agent, Parent = "research" },
                },
                Budgets =
                {
                    new BudgetOptions
                    {
                        Id = Budget,
                        Subject = Agent,
                        PerSession = true,
                        Limits =
                        {
                            new BudgetLimitOptions { Amount = RunCap },
                            new BudgetLimitOptions { Measure = LimitMeasure.Requests, Amount = MaxSteps },
                        },
                    },
                },
            }));
        return services.BuildServiceProvider();
    }

    private static List<ChatMessage> NewRun(string assignment) =>
    [
        new(ChatRole.System, "You are a research agent. Call web_search until you have enough sources, then answer with citations."),
        new(ChatRole.User, assignment),
    ];

    private static string Usd(decimal amount) => "$" + amount.ToString("0.000000", CultureInfo.InvariantCulture);

    private static string Amount(BudgetUsage row, decimal amount) =>
        row.Measure == LimitMeasure.Credits ? Usd(amount) : amount.ToString("0", CultureInfo.InvariantCulture);
}
