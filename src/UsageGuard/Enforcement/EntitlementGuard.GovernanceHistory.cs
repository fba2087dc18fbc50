using System.Runtime.CompilerServices;

namespace UsageGuard;

/// <summary>
/// Budgets read back from the ledger: start-up rebuilds each budget's current windows, and past windows are measured, from the
/// <see cref="LedgerEntry.Budgeted"/> record that every governed settlement leaves on its last entry.
/// </summary>
internal sealed partial class EntitlementGuard
{
    // Entries read from the store per page.
    private const int BudgetedPage = 1000;

    public async ValueTask<IReadOnlyList<BudgetUsage>> GetBudgetUsageAsync(string customerId, DateTimeOffset at, string? subject = null, string? sessionId = null, CancellationToken cancellationToken = default)
    {
        ValidateId(customerId, nameof(customerId));
        var rows = new List<BudgetUsage>();
        if (!_governance.TryGetValue(customerId, out CustomerGovernance? governance))
        {
            return rows;
        }

        GovernancePolicy policy = governance.Policy;
        var limits = new List<(CompiledLimit Limit, long Start, long End)>();
        foreach (CompiledLimit limit in subject is null ? policy.All : policy.LimitsFor(subject))
        {
            if (limit.Measure == LimitMeasure.InFlight || (limit.PerSession && sessionId is null))
            {
                // Leases in flight at a past instant are not recorded; per-session budgets are reported for a named session only.
                continue;
            }

            if (limit.Window is { } kind)
            {
                UsagePeriod period = policy.Calendar.Containing(at, kind);
                limits.Add((limit, period.Start.UtcTicks, period.End.UtcTicks));
            }
            else
            {
                // A limit without a window counts everything admitted before the instant.
                limits.Add((limit, long.MinValue, at.UtcTicks));
            }
        }

        if (limits.Count == 0)
        {
            return rows;
        }

        long earliest = limits.Min(l => l.Start);
        var used = new long[limits.Count];
        await foreach (LedgerEntry entry in ReadBudgetedAsync(customerId, earliest == long.MinValue ? null : new DateTimeOffset(earliest, TimeSpan.Zero), cancellationToken).ConfigureAwait(false))
        {
            if (entry.Budgeted is not { } budgeted || !_typeIndex.TryGetValue(entry.CreditType, out int typeIndex))
            {
                continue;
            }

            ReservationRequest request = AsRequest(entry, budgeted);
            long admitted = budgeted.AdmittedAt.UtcTicks;
            for (int i = 0; i < limits.Count; i++)
            {
                (CompiledLimit limit, long start, long end) = limits[i];
                if (admitted >= start && admitted < end && (!limit.PerSession || entry.SessionId == sessionId) && limit.Matches(request, typeIndex))
                {
                    used[i] = checked(used[i] + Counted(limit, entry, budgeted));
                }
            }
        }

        for (int i = 0; i < limits.Count; i++)
        {
            (CompiledLimit limit, long start, long end) = limits[i];
            bool windowed = limit.Window is not null;
            DateTimeOffset? windowStart = windowed ? new DateTimeOffset(start, TimeSpan.Zero) : null;
            DateTimeOffset? windowEnd = windowed ? new DateTimeOffset(end, TimeSpan.Zero) : null;
            rows.Add(UsageRow(limit, sessionId, windowStart, windowEnd, used[i], held: 0, consumed: used[i], tripped: false));
        }

        return rows;
    }

    /// <summary>
    /// Rebuilds the current window of every budget limit (and the counters of recent sessions) from the budget usage the ledger records,
    /// so a restart does not reset budgets, rate limits or session caps. Runs at start-up, before any request.
    /// </summary>
    private async ValueTask RestoreGovernanceAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        foreach (CustomerGovernance governance in _governance.Values)
        {
            GovernancePolicy policy = governance.Policy;
            if (policy.IsEmpty)
            {
                continue;
            }

            DateTimeOffset? from = now;
            foreach (CompiledLimit limit in policy.All)
            {
                DateTimeOffset start = limit switch
                {
                    { Measure: LimitMeasure.InFlight } => now,
                    { Window: { } kind } => policy.Calendar.Containing(now, kind).Start,
                    { PerSession: true } => now - TimeSpan.FromTicks(_sessionIdleTicks),
                    _ => DateTimeOffset.MinValue,
                };
                from = start < from ? start : from;
            }

            await foreach (LedgerEntry entry in ReadBudgetedAsync(governance.CustomerId, from == DateTimeOffset.MinValue ? null : from, cancellationToken).ConfigureAwait(false))
            {
                Restore(governance, policy, entry, now.UtcTicks);
            }

            governance.DropIdleSessions(now.UtcTicks, _sessionIdleTicks);
        }
    }

    /// <summary>Counts one entry's budget usage in every limit it matches whose current window holds its admission; thresholds it reaches are marked raised (the process before raised them).</summary>
    private void Restore(CustomerGovernance governance, GovernancePolicy policy, in LedgerEntry entry, long nowTicks)
    {
        if (entry.Budgeted is not { } budgeted || !_typeIndex.TryGetValue(entry.CreditType, out int typeIndex))
        {
            return;
        }

        ReservationRequest request = AsRequest(entry, budgeted);
        long admitted = budgeted.AdmittedAt.UtcTicks;
        SessionState? session = null;
        foreach (CompiledLimit limit in policy.LimitsFor(entry.Subject))
        {
            long quantity = Counted(limit, entry, budgeted);
            if (quantity == 0 || !limit.Matches(request, typeIndex))
            {
                continue;
            }

            LimitState counters = limit.Shared ?? (session ??= governance.Session(entry.SessionId!, admitted, _sessionIdleTicks)).StateFor(limit);
            MeterWindow window = counters.WindowAt(nowTicks, policy.Calendar, limit.Window);
            if (admitted < window.StartTicks || admitted >= window.EndTicks)
            {
                // Counted in a window that has ended.
                continue;
            }

            window.CountRecorded(quantity);
            long[] thresholds = limit.AlertUnits;
            for (int i = 0; i < thresholds.Length && window.Settled >= thresholds[i]; i++)
            {
                window.TryMarkAlert(i);
            }
        }
    }

    /// <summary>Gets what an entry's budget usage counts toward a limit: its credits, its tokens, or one request; leases are never recorded.</summary>
    private static long Counted(CompiledLimit limit, in LedgerEntry entry, in BudgetedUsage budgeted) => limit.Measure switch
    {
        LimitMeasure.Credits => budgeted.Credits.Units,
        LimitMeasure.Tokens => budgeted.Tokens,
        LimitMeasure.Requests => 1,
        _ => 0,
    };

    /// <summary>Gets the request an entry's settlement was admitted as, as far as budgets match requests.</summary>
    private static ReservationRequest AsRequest(in LedgerEntry entry, in BudgetedUsage budgeted) => new()
    {
        CustomerId = entry.CustomerId,
        CreditType = entry.CreditType,
        Subject = entry.Subject,
        Model = entry.Model,
        Feature = entry.Feature,
        SessionId = entry.SessionId,
        Tags = budgeted.Tags,
    };

    /// <summary>Reads a customer's entries that record budget usage, settled at or after <paramref name="from"/> (a settlement never precedes its admission), page by page.</summary>
    private async IAsyncEnumerable<LedgerEntry> ReadBudgetedAsync(string customerId, DateTimeOffset? from, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long after = 0;
        while (true)
        {
            var query = new LedgerQuery { CustomerId = customerId, From = from, AfterSequence = after, Limit = BudgetedPage };
            IReadOnlyList<LedgerEntry> page = await _store.QueryAsync(query, cancellationToken).ConfigureAwait(false);
            foreach (LedgerEntry entry in page)
            {
                if (entry.Budgeted is not null)
                {
                    yield return entry;
                }
            }

            if (page.Count < BudgetedPage)
            {
                yield break;
            }

            after = page[^1].Sequence;
        }
    }
}
