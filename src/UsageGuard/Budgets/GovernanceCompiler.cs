using System.Collections.Frozen;
using System.Globalization;
using System.Security;

namespace UsageGuard;

/// <summary>Validates one customer's governance whole and compiles it into a <see cref="GovernancePolicy"/>; every problem is reported, each naming its element.</summary>
internal static class GovernanceCompiler
{
    private const int MaxLimitsPerBudget = 16;
    private const int MaxAlertsPerLimit = 32;
    private static readonly string WindowNames = "second, minute, hour, day, week, month, year";

    /// <summary>Compiles a customer's definition, or returns null with <paramref name="errors"/> filled; nothing is bound to counters unless it is valid.</summary>
    /// <param name="definition">The definition.</param>
    /// <param name="creditTypes">The configured credit types by code, with their index and scale.</param>
    /// <param name="defaultCreditType">The default credit type's code.</param>
    /// <param name="stateFor">Gets the customer's counters for a limit's state key (called only when the definition is valid).</param>
    /// <param name="errors">Receives the problems.</param>
    internal static GovernancePolicy? Compile(
        CustomerGovernanceOptions definition,
        IReadOnlyDictionary<string, (int Index, int Scale)> creditTypes,
        string defaultCreditType,
        Func<string, bool, LimitState> stateFor,
        List<string> errors)
    {
        int before = errors.Count;
        string at = $"customers[{definition.CustomerId}]";
        CheckId(errors, at, nameof(CustomerGovernanceOptions.CustomerId), definition.CustomerId, required: true);
        PeriodCalendar calendar = GovernancePolicy.Empty.Calendar;
        if (definition.TimeZone is { } zoneId)
        {
            try
            {
                calendar = GovernancePolicy.PeriodCalendarFor(TimeZoneInfo.FindSystemTimeZoneById(zoneId));
            }
            catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or SecurityException or ArgumentException)
            {
                errors.Add($"{at}: TimeZone '{zoneId}' is not a time zone known on this machine (use an IANA id such as 'Europe/London')");
            }
        }

        Dictionary<string, string?> parents = Tree(at, definition.Subjects, errors);
        var drafts = new List<Draft>();
        var budgetIds = new HashSet<string>(StringComparer.Ordinal);
        for (int b = 0; b < definition.Budgets.Count; b++)
        {
            BudgetOptions? budget = definition.Budgets[b];
            if (budget is null)
            {
                errors.Add($"{at}.budgets[{b}]: the budget is null");
                continue;
            }

            string where = $"{at}.budgets[{(string.IsNullOrEmpty(budget.Id) ? b.ToString(CultureInfo.InvariantCulture) : budget.Id)}]";
            if (CheckId(errors, where, nameof(BudgetOptions.Id), budget.Id, required: true) && !budgetIds.Add(budget.Id))
            {
                errors.Add($"{where}: the id is used by another budget of the customer");
            }

            CompileBudget(where, budget, parents, creditTypes, defaultCreditType, drafts, errors);
        }

        if (errors.Count > before)
        {
            return null;
        }

        var limits = new CompiledLimit[drafts.Count];
        for (int i = 0; i < drafts.Count; i++)
        {
            Draft d = drafts[i];
            limits[i] = d.Build(d.PerSession ? null : stateFor(d.StateKey, d.Window is not null));
        }

        CompiledLimit[] customerWide = [.. limits.Where(l => l.Subject is null)];
        var byNode = new Dictionary<string, CompiledLimit[]>(StringComparer.Ordinal);
        foreach (string node in parents.Keys)
        {
            // Root first: the customer's budgets, then each ancestor's, then the node's own.
            var chain = new List<string>();
            for (string? n = node; n is not null; n = parents[n])
            {
                chain.Add(n);
            }

            chain.Reverse();
            var applicable = new List<CompiledLimit>(customerWide);
            foreach (string n in chain)
            {
                applicable.AddRange(limits.Where(l => l.Subject == n));
            }

            byNode[node] = [.. applicable];
        }

        return new GovernancePolicy(definition, calendar, byNode.ToFrozenDictionary(StringComparer.Ordinal), customerWide, parents.ToFrozenDictionary(StringComparer.Ordinal), limits);
    }

    /// <summary>Parses a window name (<c>day</c>, <c>Month</c>…); numbers are not windows.</summary>
    internal static bool TryParseWindow(string? text, out UsageWindow window)
    {
        window = default;
        return text is { Length: > 0 } && char.IsLetter(text[0]) && Enum.TryParse(text.Trim(), ignoreCase: true, out window) && Enum.IsDefined(window);
    }

    private static Dictionary<string, string?> Tree(string at, IList<SubjectOptions> subjects, List<string> errors)
    {
        var parents = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (int i = 0; i < subjects.Count; i++)
        {
            SubjectOptions? s = subjects[i];
            string where = $"{at}.subjects[{(s is null || string.IsNullOrEmpty(s.Id) ? i.ToString(CultureInfo.InvariantCulture) : s.Id)}]";
            if (s is null)
            {
                errors.Add($"{where}: the subject is null");
                continue;
            }

            if (!CheckId(errors, where, nameof(SubjectOptions.Id), s.Id, required: true))
            {
                continue;
            }

            if (s.Id.Contains('/', StringComparison.Ordinal))
            {
                errors.Add($"{where}: Id '{s.Id}' contains '/', which separates the nodes of a subject path; name the node alone and set Parent");
                continue;
            }

            if (!parents.TryAdd(s.Id, string.IsNullOrEmpty(s.Parent) ? null : s.Parent))
            {
                errors.Add($"{where}: the id is used by another subject of the customer");
            }
        }

        foreach ((string id, string? parent) in parents)
        {
            if (parent is not null && !parents.ContainsKey(parent))
            {
                errors.Add($"{at}.subjects[{id}]: Parent '{parent}' is not a subject of the customer");
            }
        }

        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (string id in parents.Keys)
        {
            // Walk up; a walk longer than the tree has nodes has gone round a cycle.
            var path = new List<string> { id };
            string? n = parents[id];
            while (n is not null && parents.ContainsKey(n) && path.Count <= parents.Count)
            {
                int seen = path.IndexOf(n);
                if (seen >= 0)
                {
                    List<string> cycle = path[seen..];
                    if (reported.Add(cycle.Min(StringComparer.Ordinal)!))
                    {
                        errors.Add($"{at}.subjects[{n}]: the tree has a cycle ({string.Join(" -> ", cycle)} -> {n}); a node cannot be its own ancestor");
                    }

                    break;
                }

                path.Add(n);
                n = parents[n];
            }
        }

        return parents;
    }

    private static void CompileBudget(
        string at,
        BudgetOptions budget,
        Dictionary<string, string?> parents,
        IReadOnlyDictionary<string, (int Index, int Scale)> creditTypes,
        string defaultCreditType,
        List<Draft> drafts,
        List<string> errors)
    {
        if (budget.Subject is not null && CheckId(errors, at, nameof(BudgetOptions.Subject), budget.Subject, required: true) && !parents.ContainsKey(budget.Subject))
        {
            errors.Add($"{at}: Subject '{budget.Subject}' is not a node of the customer's subject tree (declare it under Subjects, or leave Subject out for the whole customer)");
        }

        CheckId(errors, at, nameof(BudgetOptions.Model), budget.Model, required: false);
        CheckId(errors, at, nameof(BudgetOptions.Feature), budget.Feature, required: false);
        CheckId(errors, at, nameof(BudgetOptions.Tag), budget.Tag, required: false);
        (int Index, int Scale) type = (-1, 0);
        string code = budget.CreditType ?? defaultCreditType;
        if (!creditTypes.TryGetValue(code, out type))
        {
            errors.Add($"{at}: CreditType '{code}' is not a configured credit type ({string.Join(", ", creditTypes.Keys.Order(StringComparer.Ordinal))})");
        }

        if (budget.Limits.Count == 0)
        {
            errors.Add($"{at}: the budget has no limits");
        }
        else if (budget.Limits.Count > MaxLimitsPerBudget)
        {
            errors.Add($"{at}: the budget has {budget.Limits.Count} limits; at most {MaxLimitsPerBudget}");
        }

        for (int i = 0; i < budget.Limits.Count; i++)
        {
            string where = $"{at}.limits[{i}]";
            BudgetLimitOptions? limit = budget.Limits[i];
            if (limit is null)
            {
                errors.Add($"{where}: the limit is null");
                continue;
            }

            if (CompileLimit(where, budget, limit, i, type.Scale, errors) is { } draft)
            {
                drafts.Add(draft with { CreditTypeIndex = limit.Measure == LimitMeasure.Credits ? type.Index : -1 });
            }
        }
    }

    private static Draft? CompileLimit(string at, BudgetOptions budget, BudgetLimitOptions limit, int position, int creditScale, List<string> errors)
    {
        int before = errors.Count;
        if (!Enum.IsDefined(limit.Measure))
        {
            errors.Add($"{at}: Measure has the undefined value {limit.Measure}");
            return null;
        }

        if (!Enum.IsDefined(limit.Enforcement))
        {
            errors.Add($"{at}: Enforcement has the undefined value {limit.Enforcement}");
        }

        int scale = limit.Measure == LimitMeasure.Credits ? creditScale : 0;
        string unit = limit.Measure == LimitMeasure.Credits ? "credits" : limit.Measure.ToString().ToLowerInvariant();
        long amount = Units(errors, at, nameof(BudgetLimitOptions.Amount), limit.Amount, scale, positive: true);
        UsageWindow? window = null;
        if (limit.Window is not null)
        {
            if (TryParseWindow(limit.Window, out UsageWindow parsed))
            {
                window = parsed;
            }
            else
            {
                errors.Add($"{at}: Window '{limit.Window}' is not a window ({WindowNames}; leave it out for no window)");
            }
        }

        if (limit.Measure == LimitMeasure.InFlight)
        {
            if (limit.Window is not null)
            {
                errors.Add($"{at}: a limit on requests in flight has no window (Window is '{limit.Window}')");
            }

            if (limit.Enforcement != LimitEnforcement.Hard)
            {
                errors.Add($"{at}: a limit on requests in flight is Hard (Enforcement is {limit.Enforcement})");
            }
        }

        long? cap = null;
        if (limit.OverageCap is decimal overage)
        {
            if (limit.Enforcement == LimitEnforcement.Hard)
            {
                errors.Add($"{at}: OverageCap applies only to a Soft or Throttled limit");
            }
            else
            {
                cap = Units(errors, at, nameof(BudgetLimitOptions.OverageCap), overage, scale, positive: false);
            }
        }

        long throttleAt = long.MaxValue;
        long interval = 0;
        if (limit.Enforcement == LimitEnforcement.Throttled)
        {
            if (limit.ThrottleAtPercent <= 0 || limit.ThrottleAtPercent > 100)
            {
                errors.Add($"{at}: ThrottleAtPercent must be greater than 0 and at most 100 ({limit.ThrottleAtPercent.ToString(CultureInfo.InvariantCulture)})");
            }
            else
            {
                throttleAt = (long)decimal.Floor(amount * limit.ThrottleAtPercent / 100m);
            }

            if (limit.ThrottleInterval <= TimeSpan.Zero)
            {
                errors.Add($"{at}: ThrottleInterval must be positive ({limit.ThrottleInterval})");
            }

            interval = limit.ThrottleInterval.Ticks;
        }

        var alertUnits = new List<(long Units, string Label)>();
        if (limit.AlertAt.Count > MaxAlertsPerLimit)
        {
            errors.Add($"{at}: {limit.AlertAt.Count} alert thresholds; at most {MaxAlertsPerLimit}");
        }

        foreach (string? text in limit.AlertAt)
        {
            if (ParseAlert(text, amount, scale) is long threshold)
            {
                alertUnits.Add((threshold, text!.Trim()));
            }
            else
            {
                errors.Add($"{at}: AlertAt '{text}' is not a threshold (a positive percent such as '80%', or a positive amount such as '2500' with at most {scale} decimal places)");
            }
        }

        if (errors.Count > before)
        {
            return null;
        }

        alertUnits.Sort((x, y) => x.Units.CompareTo(y.Units));
        long ceiling = limit.Enforcement == LimitEnforcement.Hard ? amount : cap is long c ? amount + c : long.MaxValue;
        return new Draft(
            budget.Id,
            budget.Subject,
            budget.Model,
            budget.Feature,
            budget.Tag,
            budget.PerSession,
            -1,
            scale,
            limit.Measure,
            window,
            limit.Enforcement,
            amount,
            ceiling,
            throttleAt,
            interval,
            [.. alertUnits.Select(a => a.Units)],
            [.. alertUnits.Select(a => a.Label)],
            string.Create(CultureInfo.InvariantCulture, $"{budget.Id}#{position}:{limit.Measure}:{window?.ToString() ?? "none"}"));
    }

    private static long? ParseAlert(string? text, long amount, int scale)
    {
        string? t = text?.Trim();
        if (string.IsNullOrEmpty(t))
        {
            return null;
        }

        if (t.EndsWith('%'))
        {
            return decimal.TryParse(t.AsSpan(0, t.Length - 1).Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal percent) && percent > 0 && percent <= 1000
                ? Math.Max(1, (long)decimal.Ceiling(amount * percent / 100m))
                : null;
        }

        if (!decimal.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal absolute) || absolute <= 0)
        {
            return null;
        }

        try
        {
            return FixedPoint.ToUnits(absolute, scale, "AlertAt");
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static long Units(List<string> errors, string at, string property, decimal value, int scale, bool positive)
    {
        string shown = value.ToString(CultureInfo.InvariantCulture);
        if (positive ? value <= 0 : value < 0)
        {
            errors.Add($"{at}: {property} must be {(positive ? "positive" : "zero or positive")} ({shown})");
            return 0;
        }

        long units;
        try
        {
            units = FixedPoint.ToUnits(value, scale, property);
        }
        catch (ArgumentException)
        {
            errors.Add(scale == 0
                ? $"{at}: {property} must be a whole number ({shown})"
                : $"{at}: {property} has more than {scale} decimal places, the credit type's scale ({shown})");
            return 0;
        }

        // A quarter of the range leaves room to add an overage cap and usage without overflow.
        if (units > long.MaxValue / 4)
        {
            errors.Add($"{at}: {property} is too large ({shown})");
            return 0;
        }

        return units;
    }

    private static bool CheckId(List<string> errors, string at, string property, string? value, bool required)
    {
        if (value is null)
        {
            if (required)
            {
                errors.Add($"{at}: {property} is missing");
            }

            return false;
        }

        if (!required && string.IsNullOrWhiteSpace(value))
        {
            errors.Add($"{at}: {property} is empty (leave it out to match every request)");
            return false;
        }

        return CatalogCompiler.CheckId(errors, at, property, value);
    }

    private sealed record Draft(
        string BudgetId,
        string? Subject,
        string? Model,
        string? Feature,
        string? Tag,
        bool PerSession,
        int CreditTypeIndex,
        int Scale,
        LimitMeasure Measure,
        UsageWindow? Window,
        LimitEnforcement Enforcement,
        long LimitUnits,
        long CeilingUnits,
        long ThrottleAtUnits,
        long ThrottleIntervalTicks,
        long[] AlertUnits,
        string[] AlertLabels,
        string StateKey)
    {
        internal CompiledLimit Build(LimitState? shared) => new()
        {
            BudgetId = BudgetId,
            Subject = Subject,
            Model = Model,
            Feature = Feature,
            Tag = Tag,
            PerSession = PerSession,
            CreditTypeIndex = CreditTypeIndex,
            Scale = Scale,
            Measure = Measure,
            Window = Window,
            Enforcement = Enforcement,
            LimitUnits = LimitUnits,
            CeilingUnits = CeilingUnits,
            ThrottleAtUnits = ThrottleAtUnits,
            ThrottleIntervalTicks = ThrottleIntervalTicks,
            AlertUnits = AlertUnits,
            AlertLabels = AlertLabels,
            StateKey = StateKey,
            Shared = shared,
        };
    }
}
