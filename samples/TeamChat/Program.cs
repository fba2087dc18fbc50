using System.Globalization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using UsageGuard;
using UsageGuard.AI;

namespace TeamChat;

/// <summary>
/// Two teams share an organisation's monthly budget: users of both chat through the guarded <see cref="IChatClient"/>, team A is
/// refused at its own cap, and team B chats on until the organisation's budget is what stops it.
/// </summary>
public static class Program
{
    /// <summary>The paying customer: the organisation.</summary>
    public const string Customer = "globex";

    /// <summary>The chat model, priced by the catalog.</summary>
    public const string Model = "sim-chat";

    /// <summary>The organisation's monthly budget (customer-wide).</summary>
    public const string OrgBudget = "org-monthly";

    /// <summary>Team A's monthly cap, tighter than its share of the organisation's budget.</summary>
    public const string TeamABudget = "team-a-cap";

    /// <summary>Team B's monthly cap, looser than what the organisation's budget leaves it.</summary>
    public const string TeamBBudget = "team-b-cap";

    /// <summary>The time zone the customer's months are aligned to.</summary>
    public const string TimeZone = "Europe/Berlin";

    private const decimal OrgMonthly = 0.15m;
    private const decimal TeamACap = 0.05m;
    private const decimal TeamBCap = 0.25m;
    private const decimal Granted = 20m;
    private const decimal InputPerMillion = 5m;
    private const decimal OutputPerMillion = 20m;
    private const int MaxOutputTokens = 800;

    // Monday morning in Berlin, two days before the month ends; the clock moves six minutes per message.
    private static readonly DateTimeOffset s_start = new(2026, 3, 30, 7, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan s_betweenMessages = TimeSpan.FromMinutes(6);

    private static readonly Dictionary<string, string> s_teamOf = new()
    {
        ["user:ana"] = "team-a",
        ["user:ben"] = "team-a",
        ["user:chen"] = "team-b",
        ["user:dora"] = "team-b",
    };

    private static readonly string[] s_questions =
    [
        "Draft a reply to the customer who asked about the delayed shipment.",
        "Can we ship the March release before the holiday?",
        "Rewrite the onboarding section so that a new hire can follow it.",
        "How do I rotate the API keys of the staging environment?",
    ];

    /// <summary>Runs the sample on the console.</summary>
    /// <returns>0 when team A was refused at its cap, team B at the organisation's budget, and the totals agree; otherwise 1.</returns>
    public static Task<int> Main() => RunAsync(Console.Out);

    /// <summary>Runs the sample, writing what happens to <paramref name="output"/>.</summary>
    /// <param name="output">Where the report goes.</param>
    /// <returns>0 when team A was refused at its cap, team B at the organisation's budget, and the totals agree; otherwise 1.</returns>
    public static async Task<int> RunAsync(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var clock = new ManualClock(s_start);
        await using ServiceProvider services = Build(clock);
        var ledger = services.GetRequiredService<ICreditLedger>();
        var governance = services.GetRequiredService<IUsageGovernance>();
        TimeZoneInfo zone = TimeZoneInfo.FindSystemTimeZoneById(TimeZone);
        await ledger.GrantAsync(new CreditGrant { CustomerId = Customer, Amount = Granted });

        using UsageGuardChatClient chat = new CannedChatClient().WithUsageGuard(services);
        var conversations = new Dictionary<string, List<ChatMessage>>();
        decimal messageCosts = 0;
        string lastUser = "";

        Say($"UsageGuard team chat: two teams share an organisation's budget");
        Say($"   {Customer} (months in {TimeZone}): {OrgBudget} {Usd(OrgMonthly)} a month for the whole organisation");
        Say($"   team-a (user:ana, user:ben): {TeamABudget} {Usd(TeamACap)} a month");
        Say($"   team-b (user:chen, user:dora): {TeamBBudget} {Usd(TeamBCap)} a month, more than the organisation leaves it");
        Say($"   model {Model}: ${InputPerMillion:0.00} / ${OutputPerMillion:0.00} per million input / output tokens; each message holds its input + {MaxOutputTokens} output tokens");

        // 1. Users take turns. Each message holds its estimate in every budget above the user, all or nothing: the team's cap and
        //    the organisation's. Team A's cap is the tighter one, so team A is refused first.
        Heading("1. Both teams chat until team A reaches its cap");
        PrintColumns();
        string[] rotation = ["user:ana", "user:chen", "user:ben", "user:dora"];
        UsageLimitExceededException? teamA = null;
        for (int turn = 0; teamA is null && turn < 40; turn++)
        {
            teamA = await ChatAsync(rotation[turn % rotation.Length]);
        }

        if (teamA?.Budget?.BudgetId != TeamABudget)
        {
            Say($"   team A was not refused at its cap");
            return 1;
        }

        PrintDenial(teamA);

        // 2. The cap belongs to the team, not to the user who hit it; the other team is not affected.
        Heading("2. The cap is the team's: the other team-a user is refused too, team B is not");
        PrintColumns();
        string otherA = s_teamOf.First(u => u.Value == "team-a" && u.Key != lastUser).Key;
        UsageLimitExceededException? second = await ChatAsync(otherA);
        UsageLimitExceededException? teamBStill = await ChatAsync("user:chen");
        if (second?.Budget?.BudgetId != TeamABudget || teamBStill is not null)
        {
            return 1;
        }

        // 3. Team B's own cap is looser than what the organisation has left: the organisation's budget is what stops it.
        Heading("3. Team B chats on until the organisation's budget is spent");
        PrintColumns();
        UsageLimitExceededException? teamB = null;
        for (int turn = 0; teamB is null && turn < 40; turn++)
        {
            teamB = await ChatAsync(turn % 2 == 0 ? "user:dora" : "user:chen");
        }

        if (teamB?.Budget?.BudgetId != OrgBudget)
        {
            Say($"   team B was not refused at the organisation's budget");
            return 1;
        }

        PrintDenial(teamB);

        Heading("4. Budget usage (GetBudgetUsage)");
        IReadOnlyList<BudgetUsage> rows = governance.GetBudgetUsage(Customer);
        Say($"   {"budget",-12} {"level",-16} {"window",-6} {"from",-16}   {"to",-16} {"limit",10} {"used",10} {"held",10} {"remaining",10}");
        foreach (BudgetUsage row in rows)
        {
            Say($"   {row.BudgetId,-12} {Level(row.Subject),-16} {row.Window,-6} {Local(row.WindowStart),-16} - {Local(row.WindowEnd),-16} {Usd(row.Limit),10} {Usd(row.Used),10} {Usd(row.Held),10} {Usd(row.Remaining),10}");
        }

        // Every message was charged what the budgets counted for it, and the organisation counted both teams.
        Heading("5. Totals");
        decimal org = Row(OrgBudget).Used;
        decimal a = Row(TeamABudget).Used;
        decimal b = Row(TeamBBudget).Used;
        WalletBalance wallet = ledger.GetBalance(Customer);
        decimal charged = Granted - wallet.Balance.ToDecimal();
        Say($"   team-a {Usd(a)} + team-b {Usd(b)} = {Usd(a + b)}; the organisation counted {Usd(org)}");
        Say($"   the wallet was charged {Usd(charged)}, the messages cost {Usd(messageCosts)}; balance {Usd(wallet.Balance.ToDecimal())}, held {Usd(wallet.Held.ToDecimal())}");
        return a + b == org && org == charged && charged == messageCosts && wallet.Held.IsZero ? 0 : 1;

        // One user sends the next question of their conversation; returns the refusal, or null when the model answered.
        async Task<UsageLimitExceededException?> ChatAsync(string user)
        {
            clock.Advance(s_betweenMessages);
            lastUser = user;
            string team = s_teamOf[user];
            string time = TimeZoneInfo.ConvertTime(clock.GetUtcNow(), zone).ToString("HH:mm", CultureInfo.InvariantCulture);
            List<ChatMessage> conversation = Conversation(user);
            conversation.Add(new ChatMessage(ChatRole.User, s_questions[conversation.Count(m => m.Role == ChatRole.User) % s_questions.Length]));
            decimal before = Row(OrgBudget).Used;
            ChatResponse response;
            using (UsageScope.Begin(new UsageContext { CustomerId = Customer, Subject = user }))
            {
                try
                {
                    response = await chat.GetResponseAsync(conversation, new ChatOptions { MaxOutputTokens = MaxOutputTokens });
                }
                catch (UsageLimitExceededException refused)
                {
                    // The question was never sent: take it back, so the user can ask it again next month.
                    conversation.RemoveAt(conversation.Count - 1);
                    Say($"   {time}  {user,-10} {team,-7} refused: {refused.Status} by {refused.Budget?.BudgetId} ({Level(refused.Budget?.Subject)})");
                    return refused;
                }
            }

            conversation.AddMessages(response);
            decimal cost = Row(OrgBudget).Used - before;
            messageCosts += cost;
            Say($"   {time}  {user,-10} {team,-7} {response.Usage?.InputTokenCount,5} {response.Usage?.OutputTokenCount,5} {Usd(cost),10} {Usd(Row(team == "team-a" ? TeamABudget : TeamBBudget).Used),10} {Usd(Row(OrgBudget).Used),10}");
            return null;
        }

        List<ChatMessage> Conversation(string user)
        {
            if (!conversations.TryGetValue(user, out List<ChatMessage>? conversation))
            {
                conversation = [new ChatMessage(ChatRole.System, "You are the company assistant. Answer briefly and cite internal documents.")];
                conversations[user] = conversation;
            }

            return conversation;
        }

        BudgetUsage Row(string budgetId)
        {
            foreach (BudgetUsage row in governance.GetBudgetUsage(Customer))
            {
                if (row.BudgetId == budgetId)
                {
                    return row;
                }
            }

            throw new InvalidOperationException($"No budget '{budgetId}'.");
        }

        void PrintColumns() =>
            Say($"   {"time",5}  {"user",-10} {"team",-7} {"in",5} {"out",5} {"cost",10} {"team used",10} {"org used",10}");

        void PrintDenial(UsageLimitExceededException refused)
        {
            BudgetDenial denial = refused.Budget!.Value;
            string ends = denial.WindowEnd is { } end ? TimeZoneInfo.ConvertTime(end, zone).ToString("yyyy-MM-dd HH:mm zzz", CultureInfo.InvariantCulture) : "never";
            Say($"   denied by budget '{denial.BudgetId}' at level {Level(denial.Subject)}: {refused.Status}, {denial.Measure} limit {Usd(denial.Limit)}, used and held {Usd(denial.Used)}");
            Say($"   window {denial.Window}, ends {ends} ({TimeZone}); retry after {Duration(refused.RetryAfter)}");
            Say($"   reason: {refused.Message}");
        }

        void Heading(string text)
        {
            output.WriteLine();
            output.WriteLine(text);
        }

        void Say(FormattableString line) => output.WriteLine(FormattableString.Invariant(line));
    }

    private static ServiceProvider Build(TimeProvider clock)
    {
        var services = new ServiceCollection();
        services.AddSingleton(clock);
        services.AddUsageGuard(o =>
            {
                o.CreditTypes.Add(new CreditTypeOptions { Code = "usd", Scale = 6 });
                o.DefaultCreditType = "usd";
            })
            .UseCatalog(c => c.Models.Add(new ModelRate { Model = Model, CreditType = "usd", InputPerMillion = InputPerMillion, OutputPerMillion = OutputPerMillion }))
            .UseGovernance(g => g.Customers.Add(new CustomerGovernanceOptions
            {
                CustomerId = Customer,
                TimeZone = TimeZone,
                Subjects =
                {
                    new SubjectOptions { Id = "team-a" },
                    new SubjectOptions { Id = "team-b" },
                    new SubjectOptions { Id = "user:ana", Parent = "team-a" },
                    new SubjectOptions { Id = "user:ben", Parent = "team-a" },
                    new SubjectOptions { Id = "user:chen", Parent = "team-b" },
                    new SubjectOptions { Id = "user:dora", Parent = "team-b" },
                },
                Budgets =
                {
                    Monthly(OrgBudget, null, OrgMonthly),
                    Monthly(TeamABudget, "team-a", TeamACap),
                    Monthly(TeamBBudget, "team-b", TeamBCap),
                },
            }));
        return services.BuildServiceProvider();
    }

    private static BudgetOptions Monthly(string id, string? subject, decimal amount) => new()
    {
        Id = id,
        Subject = subject,
        Limits = { new BudgetLimitOptions { Amount = amount, Window = "month" } },
    };

    private static string Level(string? subject) => subject ?? "the organisation";

    private static string Local(DateTimeOffset? at) => at is { } value
        ? TimeZoneInfo.ConvertTime(value, TimeZoneInfo.FindSystemTimeZoneById(TimeZone)).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)
        : "-";

    private static string Duration(TimeSpan? span) => span is { } s
        ? string.Create(CultureInfo.InvariantCulture, $"{s.Days}d {s.Hours}h {s.Minutes}m")
        : "none";

    private static string Usd(decimal amount) => "$" + amount.ToString("0.000000", CultureInfo.InvariantCulture);
}
