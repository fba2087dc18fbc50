using System.Collections.Concurrent;

namespace UsageGuard;

/// <summary>
/// One customer's governance: the policy in force, the counters of its limits (kept across policy changes by state key), its
/// sessions, and the two layers its policy is compiled from: the configuration's part and the changes made through the admin API.
/// </summary>
/// <remarks>Requests read <see cref="Policy"/> without locks; changes are serialized by <see cref="Gate"/> and publish a new policy whole.</remarks>
internal sealed class CustomerGovernance
{
    private GovernancePolicy _policy = GovernancePolicy.Empty;
    private int _sessionsCreated;

    /// <param name="customerId">The customer.</param>
    /// <param name="leased">Whether its limits spend from leases on shared pools (many instances).</param>
    internal CustomerGovernance(string customerId, bool leased = false)
    {
        CustomerId = customerId;
        Leased = leased;
    }

    internal string CustomerId { get; }

    /// <summary>Gets whether the limits' windows spend from leases on shared pools (many instances on one store).</summary>
    internal bool Leased { get; }

    internal GovernancePolicy Policy => Volatile.Read(ref _policy);

    internal Lock Gate { get; } = new();

    internal ConcurrentDictionary<string, LimitState> States { get; } = new(StringComparer.Ordinal);

    internal ConcurrentDictionary<string, SessionState> Sessions { get; } = new(StringComparer.Ordinal);

    /// <summary>Gets or sets the configuration's part (under <see cref="Gate"/>), or null.</summary>
    internal CustomerGovernanceOptions? Configured { get; set; }

    /// <summary>Gets the subjects set (a value) or removed (null) through the admin API, by id (under <see cref="Gate"/>).</summary>
    internal Dictionary<string, SubjectOptions?> AdminSubjects { get; } = new(StringComparer.Ordinal);

    /// <summary>Gets the budgets set (a value) or removed (null) through the admin API, by id (under <see cref="Gate"/>).</summary>
    internal Dictionary<string, BudgetOptions?> AdminBudgets { get; } = new(StringComparer.Ordinal);

    /// <summary>Gets or sets the time zone set through the admin API, when <see cref="AdminTimeZoneSet"/> (under <see cref="Gate"/>).</summary>
    internal string? AdminTimeZone { get; set; }

    internal bool AdminTimeZoneSet { get; set; }

    internal void Publish(GovernancePolicy policy) => Volatile.Write(ref _policy, policy);

    internal LimitState StateFor(string key, bool windowed) =>
        States.TryGetValue(key, out LimitState? state) ? state : States.GetOrAdd(key, static (_, a) => new LimitState(a.Windowed, a.Leased), (Windowed: windowed, Leased));

    /// <summary>Gets a session's state, creating it on its first request; now and then drops sessions idle longer than <paramref name="idleTicks"/>.</summary>
    internal SessionState Session(string sessionId, long nowTicks, long idleTicks)
    {
        if (Sessions.TryGetValue(sessionId, out SessionState? session))
        {
            session.Touch(nowTicks);
            return session;
        }

        while (true)
        {
            long generation = SessionResets.IsEmpty ? 0 : SessionResets.GetValueOrDefault(sessionId);
            session = Sessions.GetOrAdd(sessionId, static (id, a) => new SessionState(id, a.Now, a.Leased, a.Generation), (Now: nowTicks, Leased, Generation: generation));
            if (session.Generation >= (SessionResets.IsEmpty ? 0 : SessionResets.GetValueOrDefault(sessionId)))
            {
                break;
            }

            // A reset elsewhere landed while this state was made: it belongs to the session before the reset.
            Sessions.TryRemove(new KeyValuePair<string, SessionState>(sessionId, session));
        }

        if ((Interlocked.Increment(ref _sessionsCreated) & 1023) == 0)
        {
            DropIdleSessions(nowTicks, idleTicks);
        }

        return session;
    }

    /// <summary>Gets the feed sequence of each session's last reset (many instances): a session's state made before it is dropped.</summary>
    internal ConcurrentDictionary<string, long> SessionResets { get; } = new(StringComparer.Ordinal);

    /// <summary>Forgets a session reset by the feed's change <paramref name="generation"/>; a reset already applied (or a later one) changes nothing.</summary>
    /// <returns>Whether this instance knew the session.</returns>
    internal bool ResetSession(string sessionId, long generation)
    {
        long seen = SessionResets.GetValueOrDefault(sessionId);
        if (seen >= generation || !SessionResets.TryUpdate(sessionId, generation, seen) && !SessionResets.TryAdd(sessionId, generation))
        {
            return false;
        }

        return Sessions.TryRemove(sessionId, out _);
    }

    internal void DropIdleSessions(long nowTicks, long idleTicks)
    {
        foreach (KeyValuePair<string, SessionState> pair in Sessions)
        {
            if (nowTicks - pair.Value.LastSeenTicks >= idleTicks)
            {
                Sessions.TryRemove(pair);
            }
        }
    }

    /// <summary>Builds the definition in force: the configuration's part with the admin changes applied (under <see cref="Gate"/>).</summary>
    internal CustomerGovernanceOptions Effective()
    {
        var effective = new CustomerGovernanceOptions
        {
            CustomerId = CustomerId,
            TimeZone = AdminTimeZoneSet ? AdminTimeZone : Configured?.TimeZone,
        };
        var subjects = new List<SubjectOptions>();
        var budgets = new List<BudgetOptions>();
        if (Configured is { } configured)
        {
            foreach (SubjectOptions s in configured.Subjects)
            {
                if (s is null || !AdminSubjects.ContainsKey(s.Id))
                {
                    subjects.Add(s!);
                }
            }

            foreach (BudgetOptions b in configured.Budgets)
            {
                if (b is null || !AdminBudgets.ContainsKey(b.Id))
                {
                    budgets.Add(b!);
                }
            }
        }

        foreach (SubjectOptions? s in AdminSubjects.Values)
        {
            if (s is not null)
            {
                subjects.Add(s);
            }
        }

        foreach (BudgetOptions? b in AdminBudgets.Values)
        {
            if (b is not null)
            {
                budgets.Add(b);
            }
        }

        foreach (SubjectOptions s in subjects)
        {
            effective.Subjects.Add(s);
        }

        foreach (BudgetOptions b in budgets)
        {
            effective.Budgets.Add(b);
        }

        return effective;
    }
}
