using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace UsageGuard;

internal sealed partial class EntitlementGuard : IUsageGovernance
{
    private readonly ConcurrentDictionary<string, CustomerGovernance> _governance = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, (int Index, int Scale)>? _creditTypesForGovernance;
    private long _sessionIdleTicks = TimeSpan.FromDays(1).Ticks;
    private AlertDispatcher? _alerts;

    public event EventHandler<UsageAlert>? AlertRaised;

    /// <summary>Gets the credit types by code with their index and scale, as budgets are compiled against them.</summary>
    private IReadOnlyDictionary<string, (int Index, int Scale)> GovernanceCreditTypes =>
        _creditTypesForGovernance ??= _types.Select((t, i) => (t.Code, i, t.Scale)).ToDictionary(p => p.Code, p => (p.i, p.Scale), StringComparer.Ordinal);

    /// <summary>Applies the configuration's governance: every customer's part is compiled whole; an invalid one is refused whole.</summary>
    /// <param name="options">The options.</param>
    /// <param name="throwOnError">At start, an invalid part throws; on a reload, it is logged and the customer's policy in force is kept.</param>
    internal void ApplyConfiguration(GovernanceOptions options, bool throwOnError)
    {
        _sessionIdleTicks = options.SessionIdleTimeout > TimeSpan.Zero ? options.SessionIdleTimeout.Ticks : TimeSpan.FromDays(1).Ticks;
        var errors = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (CustomerGovernanceOptions? customer in options.Customers)
        {
            if (customer is null || string.IsNullOrWhiteSpace(customer.CustomerId))
            {
                errors.Add("customers[?]: CustomerId is missing");
                continue;
            }

            if (!seen.Add(customer.CustomerId))
            {
                errors.Add($"customers[{customer.CustomerId}]: the customer appears twice");
                continue;
            }

            Configure(GovernanceOf(customer.CustomerId), customer, errors);
        }

        // A customer the configuration no longer names loses its configured part (admin changes stay).
        foreach (CustomerGovernance governance in _governance.Values)
        {
            if (!seen.Contains(governance.CustomerId) && governance.Configured is not null)
            {
                Configure(governance, null, errors);
            }
        }

        if (errors.Count > 0)
        {
            if (throwOnError)
            {
                throw new GovernanceValidationException(errors);
            }

            LogGovernanceRejected(_logger, errors.Count, string.Join(Environment.NewLine, errors));
        }
    }

    /// <summary>Replaces a customer's configured part and recompiles; an invalid result keeps the part (and the policy) in force.</summary>
    private void Configure(CustomerGovernance governance, CustomerGovernanceOptions? configured, List<string> errors)
    {
        lock (governance.Gate)
        {
            CustomerGovernanceOptions? previous = governance.Configured;
            governance.Configured = configured;
            if (!Recompile(governance, errors))
            {
                governance.Configured = previous;
            }
        }
    }

    public void SetSubject(string customerId, string subjectId, string? parentId)
    {
        ValidateId(customerId, nameof(customerId));
        ArgumentNullException.ThrowIfNull(subjectId);
        Change(new GovernanceChange { CustomerId = customerId, SubjectId = subjectId, Subject = new SubjectOptions { Id = subjectId, Parent = parentId } });
    }

    public bool RemoveSubject(string customerId, string subjectId)
    {
        ValidateId(customerId, nameof(customerId));
        ArgumentNullException.ThrowIfNull(subjectId);
        CustomerGovernance governance = GovernanceOf(customerId);
        lock (governance.Gate)
        {
            if (!governance.Policy.Parents.ContainsKey(subjectId))
            {
                return false;
            }
        }

        Change(new GovernanceChange { CustomerId = customerId, SubjectId = subjectId });
        return true;
    }

    public void SetBudget(string customerId, BudgetOptions budget)
    {
        ValidateId(customerId, nameof(customerId));
        ArgumentNullException.ThrowIfNull(budget);
        BudgetOptions copy = Copy(budget);
        Change(new GovernanceChange { CustomerId = customerId, BudgetId = copy.Id ?? "", Budget = copy });
    }

    public bool RemoveBudget(string customerId, string budgetId)
    {
        ValidateId(customerId, nameof(customerId));
        ArgumentNullException.ThrowIfNull(budgetId);
        CustomerGovernance governance = GovernanceOf(customerId);
        lock (governance.Gate)
        {
            if (!governance.Policy.Definition.Budgets.Any(b => b?.Id == budgetId))
            {
                return false;
            }
        }

        Change(new GovernanceChange { CustomerId = customerId, BudgetId = budgetId });
        return true;
    }

    public void SetTimeZone(string customerId, string? timeZoneId)
    {
        ValidateId(customerId, nameof(customerId));
        Change(new GovernanceChange { CustomerId = customerId, TimeZoneSet = true, TimeZone = timeZoneId });
    }

    public bool ResetSession(string customerId, string sessionId)
    {
        ValidateId(customerId, nameof(customerId));
        ArgumentNullException.ThrowIfNull(sessionId);
        if (_sharedStore is { } shared)
        {
            // Every instance forgets the session, and its windows start new shared pools: the old ones keep what they counted.
            CustomerGovernance governance = GovernanceOf(customerId);
            bool known = governance.Sessions.ContainsKey(sessionId);
            long sequence = shared.PublishChange(GovernanceChange.Topic, new GovernanceChange { CustomerId = customerId, ResetSessionId = sessionId }.Encode(), _time.GetUtcNow());
            governance.ResetSession(sessionId, sequence);
            return known;
        }

        return _governance.TryGetValue(customerId, out CustomerGovernance? local) && local.Sessions.TryRemove(sessionId, out _);
    }

    public IReadOnlyList<BudgetUsage> GetBudgetUsage(string customerId, string? subject = null, string? sessionId = null)
    {
        ValidateId(customerId, nameof(customerId));
        var rows = new List<BudgetUsage>();
        if (!_governance.TryGetValue(customerId, out CustomerGovernance? governance))
        {
            return rows;
        }

        GovernancePolicy policy = governance.Policy;
        long nowTicks = _time.GetUtcNow().UtcTicks;

        // Holds abandoned past their TTL are not held any more (invariant I5, lazily): what is reported is what the next request sees.
        _reservations.ReclaimExpired(nowTicks);
        SessionState? session = sessionId is not null && governance.Sessions.TryGetValue(sessionId, out SessionState? s) ? s : null;
        foreach (CompiledLimit limit in subject is null ? policy.All : policy.LimitsFor(subject))
        {
            if (limit.PerSession && sessionId is null)
            {
                continue;
            }

            LimitState? counters = limit.Shared ?? (session is not null && session.Limits.TryGetValue(limit.StateKey, out LimitState? c) ? c : null);
            MeterWindow? window = counters?.Peek(nowTicks, limit.Window);
            DateTimeOffset? start = null;
            DateTimeOffset? end = null;
            if (limit.Window is { } kind)
            {
                UsagePeriod period = window is not null
                    ? new UsagePeriod(new DateTimeOffset(window.StartTicks, TimeSpan.Zero), new DateTimeOffset(window.EndTicks, TimeSpan.Zero))
                    : policy.Calendar.Containing(new DateTimeOffset(nowTicks, TimeSpan.Zero), kind);
                start = period.Start;
                end = period.End;
            }

            rows.Add(UsageRow(limit, sessionId, start, end, window?.Settled ?? 0, window?.Held ?? 0, window?.Consumed ?? 0, limit.PerSession && session?.TrippedBy is not null));
        }

        return rows;
    }

    /// <summary>One limit's row: <paramref name="consumed"/> (used and held) is what remaining and overage are measured with.</summary>
    private static BudgetUsage UsageRow(CompiledLimit limit, string? sessionId, DateTimeOffset? start, DateTimeOffset? end, long used, long held, long consumed, bool tripped) => new(
        limit.BudgetId,
        limit.Subject,
        limit.PerSession ? sessionId : null,
        limit.Measure,
        limit.Enforcement,
        limit.Window,
        start,
        end,
        limit.ToAmount(limit.LimitUnits),
        limit.ToAmount(used),
        limit.ToAmount(held),
        limit.ToAmount(Math.Max(0, limit.LimitUnits - consumed)),
        limit.ToAmount(Math.Max(0, consumed - limit.LimitUnits)),
        tripped);

    private CustomerGovernance GovernanceOf(string customerId) =>
        _governance.TryGetValue(customerId, out CustomerGovernance? governance)
            ? governance
            : _governance.GetOrAdd(customerId, static (id, leased) => new CustomerGovernance(id, leased), _leasedLimits);

    /// <summary>
    /// Applies an admin change to a customer's layer and recompiles; an invalid result undoes the change and throws. With many instances
    /// the change is published on the store's feed too (every instance applies it, in the feed's order), or undone when it cannot be.
    /// </summary>
    /// <exception cref="GovernanceValidationException">The change leaves the customer's governance invalid.</exception>
    /// <exception cref="LedgerUnavailableException">With many instances, the store cannot be reached: nothing changed.</exception>
    private void Change(GovernanceChange change)
    {
        CustomerGovernance governance = GovernanceOf(change.CustomerId);
        lock (governance.Gate)
        {
            var errors = new List<string>();
            if (!TryApplyLocked(governance, change, errors, out AdminLayer saved))
            {
                throw new GovernanceValidationException(errors);
            }

            if (_sharedStore is { } shared)
            {
                try
                {
                    // Under the customer's gate: this instance's own changes reach the feed in the order it applied them.
                    shared.PublishChange(GovernanceChange.Topic, change.Encode(), _time.GetUtcNow());
                }
                catch (LedgerUnavailableException)
                {
                    saved.RestoreTo(governance);
                    Recompile(governance, errors);
                    throw;
                }
            }
        }
    }

    /// <summary>
    /// Applies a governance change read from the store's feed (any instance's, this one's too, in the feed's order, so every instance
    /// ends with the same layer). One that is invalid here (a configuration this instance lacks) is undone and logged.
    /// </summary>
    private void ApplyFeedChange(SharedChange shared)
    {
        if (shared.Topic != GovernanceChange.Topic)
        {
            return;
        }

        GovernanceChange change = GovernanceChange.Decode(shared.Payload);
        CustomerGovernance governance = GovernanceOf(change.CustomerId);
        if (change.ResetSessionId is { } sessionId)
        {
            governance.ResetSession(sessionId, shared.Sequence);
            return;
        }

        lock (governance.Gate)
        {
            var errors = new List<string>();
            if (!TryApplyLocked(governance, change, errors, out _))
            {
                LogFeedChangeRejected(_logger, shared.Sequence, change.CustomerId, string.Join(Environment.NewLine, errors));
            }
        }
    }

    /// <summary>Applies a change to a customer's admin layer and recompiles; false, with the layer as it was, when the result is invalid. Caller holds the customer's gate.</summary>
    private bool TryApplyLocked(CustomerGovernance governance, GovernanceChange change, List<string> errors, out AdminLayer saved)
    {
        saved = AdminLayer.Of(governance);
        change.ApplyTo(governance);
        if (Recompile(governance, errors))
        {
            return true;
        }

        saved.RestoreTo(governance);
        return false;
    }

    /// <summary>A copy of a customer's admin layer, to undo a change with. Taken and restored under the customer's gate.</summary>
    private readonly record struct AdminLayer(Dictionary<string, SubjectOptions?> Subjects, Dictionary<string, BudgetOptions?> Budgets, string? Zone, bool ZoneSet)
    {
        internal static AdminLayer Of(CustomerGovernance governance) => new(
            new Dictionary<string, SubjectOptions?>(governance.AdminSubjects, StringComparer.Ordinal),
            new Dictionary<string, BudgetOptions?>(governance.AdminBudgets, StringComparer.Ordinal),
            governance.AdminTimeZone,
            governance.AdminTimeZoneSet);

        internal void RestoreTo(CustomerGovernance governance)
        {
            Restore(governance.AdminSubjects, Subjects);
            Restore(governance.AdminBudgets, Budgets);
            (governance.AdminTimeZone, governance.AdminTimeZoneSet) = (Zone, ZoneSet);
        }

        private static void Restore<T>(Dictionary<string, T> target, Dictionary<string, T> saved)
        {
            target.Clear();
            foreach (KeyValuePair<string, T> pair in saved)
            {
                target[pair.Key] = pair.Value;
            }
        }
    }

    /// <summary>Compiles a customer's definition in force and publishes it; false (nothing published) when it is invalid. Called under the customer's gate.</summary>
    private bool Recompile(CustomerGovernance governance, List<string> errors)
    {
        CustomerGovernanceOptions effective = governance.Effective();
        GovernancePolicy? policy = GovernanceCompiler.Compile(effective, GovernanceCreditTypes, _types[_defaultType].Code, governance.StateFor, errors);
        if (policy is null)
        {
            return false;
        }

        AddCustomer(governance.CustomerId).Governance = governance;
        governance.Publish(policy);
        return true;
    }

    private static BudgetOptions Copy(BudgetOptions budget)
    {
        var copy = new BudgetOptions
        {
            Id = budget.Id,
            Subject = budget.Subject,
            Model = budget.Model,
            Feature = budget.Feature,
            Tag = budget.Tag,
            PerSession = budget.PerSession,
            CreditType = budget.CreditType,
        };
        foreach (BudgetLimitOptions? limit in budget.Limits)
        {
            if (limit is null)
            {
                copy.Limits.Add(null!);
                continue;
            }

            var l = new BudgetLimitOptions
            {
                Measure = limit.Measure,
                Amount = limit.Amount,
                Window = limit.Window,
                Enforcement = limit.Enforcement,
                OverageCap = limit.OverageCap,
                ThrottleAtPercent = limit.ThrottleAtPercent,
                ThrottleInterval = limit.ThrottleInterval,
            };
            foreach (string alert in limit.AlertAt)
            {
                l.AlertAt.Add(alert);
            }

            copy.Limits.Add(l);
        }

        return copy;
    }

    /// <summary>
    /// Holds the request in every budget limit it matches, root first, all or nothing: on the first limit without room, every
    /// hold taken so far is given back (and a throttle slot returned), so a refused request consumes nothing anywhere (invariant I4).
    /// </summary>
    private ReservationStatus AdmitLimits(in ReservationRequest request, CustomerGovernance governance, int typeIndex, long credits, long nowTicks, ReservationState state, out string? reason, out string? scope, out TimeSpan? retryAfter, out BudgetDenial? denial)
    {
        reason = null;
        scope = null;
        retryAfter = null;
        denial = null;
        GovernancePolicy policy = governance.Policy;
        if (policy.IsEmpty)
        {
            return ReservationStatus.Admitted;
        }

        SessionState? session = null;
        if (policy.HasSessionLimits && request.SessionId is { } sessionId)
        {
            session = governance.Session(sessionId, nowTicks, _sessionIdleTicks);
            if (session.Trip is { } trip)
            {
                reason = $"The session '{sessionId}' was stopped by its budget '{trip.BudgetId}' (the circuit breaker is open); reset the session to admit its requests again.";
                scope = "session:" + sessionId;

                // The refusal that opened the breaker: its level, measure and window, and how full the limit was then.
                denial = trip;
                return ReservationStatus.SessionTripped;
            }
        }

        CompiledLimit[] limits = policy.LimitsFor(request.Subject);
        for (int i = 0; i < limits.Length; i++)
        {
            CompiledLimit limit = limits[i];
            if (!limit.Matches(request, typeIndex))
            {
                continue;
            }

            long quantity = HeldBy(limit, request, credits);
            if (quantity == 0)
            {
                // A request that holds no credits passes credit limits untouched; its settlement can still spend (an overrun), and counts then.
                continue;
            }

            LimitState counters = limit.Shared ?? session!.StateFor(limit);
            MeterWindow window = counters.WindowAt(nowTicks, policy.Calendar, limit.Window);
            long slotTaken = 0;
            long slotPrevious = 0;
            if (limit.Enforcement == LimitEnforcement.Throttled && quantity > limit.ThrottleAtUnits - window.Consumed)
            {
                if (!counters.TryTakeSlot(nowTicks, limit.ThrottleIntervalTicks, out slotPrevious, out long next))
                {
                    RollBackLimits(state);
                    retryAfter = TimeSpan.FromTicks(next - nowTicks);
                    reason = $"The budget '{limit.BudgetId}' is past its throttle threshold ({limit.ThrottleAtUnits.ToString(CultureInfo.InvariantCulture)} of {Unit(limit)}) and admits one request every {TimeSpan.FromTicks(limit.ThrottleIntervalTicks)}; the next slot is due in {retryAfter}.";
                    scope = Scope(limit);
                    denial = Denial(limit, request.SessionId, window);
                    return ReservationStatus.RateLimited;
                }

                slotTaken = nowTicks + limit.ThrottleIntervalTicks;
            }

            // Short of room: holds abandoned past their TTL may be what is missing (invariant I5, lazily, as the wallet does).
            if (!window.TryHold(quantity, limit.CeilingUnits, limit.LimitUnits, out _, out bool leaseShort)
                && !(_reservations.ReclaimExpired(nowTicks) > 0 && window.TryHold(quantity, limit.CeilingUnits, limit.LimitUnits, out _, out leaseShort)))
            {
                if (slotTaken != 0)
                {
                    counters.ReturnSlot(slotTaken, slotPrevious);
                }

                RollBackLimits(state);
                bool toTopUp = leaseShort && !t_lastAttempt;
                if (toTopUp)
                {
                    // Many instances: the budget has room, this instance's lease on it does not. The caller tops the lease up and tries
                    // again; the breaker opens only when the shared pool cannot cover the request either (the caller's last attempt).
                    t_shortfall = Shortfall(governance, limit, session, window, quantity);
                }

                denial = Denial(limit, request.SessionId, window);
                scope = Scope(limit);
                retryAfter = limit.Window is null ? null : TimeSpan.FromTicks(window.EndTicks - nowTicks);
                reason = DenialReason(limit, request.SessionId, window, quantity);
                if (limit.PerSession && !toTopUp)
                {
                    // The circuit breaker: from now on every request of the session is refused until it is reset.
                    session!.Open(denial.Value);
                    return ReservationStatus.SessionTripped;
                }

                return limit.Measure switch
                {
                    LimitMeasure.Credits => ReservationStatus.BudgetExceeded,
                    LimitMeasure.InFlight => ReservationStatus.ConcurrencyLimited,
                    _ => ReservationStatus.RateLimited,
                };
            }

            state.AddLimitHold(limit, counters, window, quantity, slotTaken, slotPrevious);
            if (limit.Measure == LimitMeasure.InFlight && limit.AlertUnits.Length > 0)
            {
                RaiseAlerts(governance.CustomerId, limit, request.SessionId, window, window.Consumed, nowTicks);
            }
        }

        state.Session = session;
        if (state.LimitHoldCount > 0)
        {
            state.KeepTags();
        }

        return ReservationStatus.Admitted;
    }

    /// <summary>Gets what a request holds in a limit: its credits, its tokens (at least one), or one request or lease.</summary>
    private static long HeldBy(CompiledLimit limit, in ReservationRequest request, long credits) => limit.Measure switch
    {
        LimitMeasure.Credits => credits,
        LimitMeasure.Tokens => Math.Max(1, request.Tokens?.TotalTokens ?? 1),
        _ => 1,
    };

    /// <summary>Gives back every budget hold of a reservation that was not admitted (or was released): nothing stays counted.</summary>
    private static void RollBackLimits(ReservationState state)
    {
        for (int i = 0; i < state.LimitHoldCount; i++)
        {
            ref readonly ReservationState.LimitHold hold = ref state.LimitHoldAt(i);
            hold.Window.Release(hold.Units);
            if (hold.SlotTaken != 0)
            {
                hold.Counters.ReturnSlot(hold.SlotTaken, hold.SlotPrevious);
            }
        }

        state.ClearLimitHolds();
    }

    /// <summary>Gives back a released or expired reservation's budget holds; its throttle slots stay taken (time passed).</summary>
    private static void ReleaseLimits(ReservationState state)
    {
        for (int i = 0; i < state.LimitHoldCount; i++)
        {
            ref readonly ReservationState.LimitHold hold = ref state.LimitHoldAt(i);
            hold.Window.Release(hold.Units);
        }

        state.ClearLimitHolds();
    }

    /// <summary>
    /// Settles a reservation's budget holds: credit limits count what the settlement spent (what was charged, overdrawn or recorded as
    /// overage; not what was waived), token limits the settled tokens when known, request limits the request; leases are given back.
    /// Returns what to record in the ledger (credit limits hold nothing, and count nothing, for a request admitted without credits).
    /// </summary>
    private BudgetedUsage SettleLimits(ReservationState state, long spent, long tokens, bool tokensKnown, long nowTicks)
    {
        bool countedCredits = false;
        long countedTokens = tokensKnown ? tokens : 0;
        for (int i = 0; i < state.LimitHoldCount; i++)
        {
            ref readonly ReservationState.LimitHold hold = ref state.LimitHoldAt(i);
            long used;
            switch (hold.Limit.Measure)
            {
                case LimitMeasure.Credits:
                    used = spent;
                    countedCredits = true;
                    break;
                case LimitMeasure.Tokens:
                    used = tokensKnown ? tokens : hold.Units;
                    countedTokens = used;
                    break;
                case LimitMeasure.Requests:
                    used = hold.Units;
                    break;
                default:
                    used = 0;
                    break;
            }

            hold.Window.Settle(hold.Units, used);
            if (hold.Limit.AlertUnits.Length > 0 && hold.Limit.Measure != LimitMeasure.InFlight)
            {
                RaiseAlerts(state.Wallet.CustomerId, hold.Limit, state.SessionId, hold.Window, hold.Window.Settled, nowTicks);
            }
        }

        state.ClearLimitHolds();
        var credits = CreditAmount.FromUnits(countedCredits ? spent : 0, state.Wallet.Type.Scale);
        return new BudgetedUsage(new DateTimeOffset(state.AdmittedTicks, TimeSpan.Zero), credits, countedTokens, state.Tags);
    }

    /// <summary>Raises each threshold <paramref name="used"/> has reached and the window has not raised yet; the hot path only compares.</summary>
    private void RaiseAlerts(string customerId, CompiledLimit limit, string? sessionId, MeterWindow window, long used, long nowTicks)
    {
        long[] thresholds = limit.AlertUnits;
        for (int i = 0; i < thresholds.Length && used >= thresholds[i]; i++)
        {
            if (window.TryMarkAlert(i))
            {
                bool windowed = limit.Window is not null;
                var alert = new UsageAlert
                {
                    CustomerId = customerId,
                    BudgetId = limit.BudgetId,
                    Subject = limit.Subject,
                    SessionId = limit.PerSession ? sessionId : null,
                    Measure = limit.Measure,
                    Window = limit.Window,
                    WindowStart = windowed ? new DateTimeOffset(window.StartTicks, TimeSpan.Zero) : null,
                    WindowEnd = windowed ? new DateTimeOffset(window.EndTicks, TimeSpan.Zero) : null,
                    Threshold = limit.AlertLabels[i],
                    ThresholdAmount = limit.ToAmount(thresholds[i]),
                    Limit = limit.ToAmount(limit.LimitUnits),
                    Used = limit.ToAmount(used),
                    RaisedAt = new DateTimeOffset(nowTicks, TimeSpan.Zero),
                };
                _alerts!.Post(alert);
            }
        }
    }

    /// <summary>Delivers an alert to the event's subscribers (called by the dispatcher, off the request path).</summary>
    internal void OnAlertRaised(UsageAlert alert) => AlertRaised?.Invoke(this, alert);

    private static BudgetDenial Denial(CompiledLimit limit, string? sessionId, MeterWindow window) => new(
        limit.BudgetId,
        limit.Subject,
        limit.PerSession ? sessionId : null,
        limit.Measure,
        limit.Window,
        limit.ToAmount(limit.LimitUnits),
        limit.ToAmount(window.Consumed),
        limit.Window is null ? null : new DateTimeOffset(window.EndTicks, TimeSpan.Zero));

    private static string Scope(CompiledLimit limit) => "budget:" + limit.BudgetId;

    private static string Unit(CompiledLimit limit) => limit.Measure switch
    {
        LimitMeasure.Credits => "credits",
        LimitMeasure.Requests => "requests",
        LimitMeasure.Tokens => "tokens",
        _ => "requests in flight",
    };

    private static string DenialReason(CompiledLimit limit, string? sessionId, MeterWindow window, long quantity)
    {
        string owner = limit.PerSession ? $"session '{sessionId}' of budget '{limit.BudgetId}'"
            : $"budget '{limit.BudgetId}' ({(limit.Subject is null ? "the whole customer" : "subject '" + limit.Subject + "'")})";
        string period = limit.Window is { } w ? $" this {w.ToString().ToLowerInvariant()}" : limit.Measure == LimitMeasure.InFlight ? "" : " in all";
        string ceiling = limit.CeilingUnits == limit.LimitUnits ? "" : $" (overage cap included: {limit.ToAmount(limit.CeilingUnits).ToString(CultureInfo.InvariantCulture)})";
        return string.Create(CultureInfo.InvariantCulture, $"The {owner} has no room for {limit.ToAmount(quantity)} {Unit(limit)}: {limit.ToAmount(window.Consumed)} of {limit.ToAmount(limit.LimitUnits)} used or held{period}{ceiling}.");
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Error, Message = "A governance change from configuration was rejected ({Count} problems); each customer's policy in force is kept. {Errors}")]
    private static partial void LogGovernanceRejected(ILogger logger, int count, string errors);

    [LoggerMessage(EventId = 303, Level = LogLevel.Error, Message = "Governance change {Sequence} from the shared feed leaves customer '{CustomerId}' invalid here; this instance keeps its policy in force. {Errors}")]
    private static partial void LogFeedChangeRejected(ILogger logger, long sequence, string customerId, string errors);
}
