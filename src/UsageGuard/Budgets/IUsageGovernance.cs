namespace UsageGuard;

/// <summary>
/// Changes and reads budgets, subject trees and sessions at runtime: the admin side of what <see cref="IEntitlementGuard"/> enforces.
/// </summary>
/// <remarks>
/// <para>Thread-safe. Each change is validated with the customer's whole governance and applied atomically: the next
/// reservation sees it, one already admitted keeps what it holds. An invalid change throws
/// <see cref="GovernanceValidationException"/> and changes nothing.</para>
/// <para>Changes made here win over <see cref="GovernanceOptions"/> for the same id and survive a configuration reload; they are kept in memory (see docs/governance.md).</para>
/// <para>Counters are kept per budget id and limit: changing a budget's amount keeps what its windows counted.</para>
/// </remarks>
public interface IUsageGovernance
{
    /// <summary>Raised off the request path for each alert, after <see cref="IUsageAlertHandler"/> services; a throwing handler is logged.</summary>
    event EventHandler<UsageAlert>? AlertRaised;

    /// <summary>Adds a node to a customer's subject tree, or moves it under another parent.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="subjectId">The node, for example <c>search</c> or <c>agent:researcher</c>.</param>
    /// <param name="parentId">The parent node, or <see langword="null"/> for a top-level node.</param>
    /// <exception cref="ArgumentNullException"><paramref name="customerId"/> or <paramref name="subjectId"/> is <see langword="null"/>.</exception>
    /// <exception cref="GovernanceValidationException">The parent is not a node, the move makes a cycle, or the id is invalid; nothing changed.</exception>
    void SetSubject(string customerId, string subjectId, string? parentId);

    /// <summary>Removes a node from a customer's subject tree.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="subjectId">The node.</param>
    /// <returns><see langword="true"/> when the node was removed; <see langword="false"/> when it was not a node.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="GovernanceValidationException">A node or a budget still refers to it; nothing changed.</exception>
    bool RemoveSubject(string customerId, string subjectId);

    /// <summary>Adds a budget to a customer, or replaces the budget with the same id (keeping what its limits counted).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="budget">The budget; copied, so later changes to the object do nothing.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="GovernanceValidationException">The budget is invalid (an amount that is not positive, a window that does not parse, an unknown subject…); nothing changed.</exception>
    void SetBudget(string customerId, BudgetOptions budget);

    /// <summary>Removes a budget from a customer.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="budgetId">The budget's id.</param>
    /// <returns><see langword="true"/> when the budget was removed; <see langword="false"/> when the customer had no such budget.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    bool RemoveBudget(string customerId, string budgetId);

    /// <summary>Sets the IANA time zone a customer's budget windows align to.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="timeZoneId">The time zone, or <see langword="null"/> for UTC.</param>
    /// <exception cref="ArgumentNullException"><paramref name="customerId"/> is <see langword="null"/>.</exception>
    /// <exception cref="GovernanceValidationException">The time zone is not known on this machine; nothing changed.</exception>
    void SetTimeZone(string customerId, string? timeZoneId);

    /// <summary>Closes a session's circuit breaker and forgets what the session used, so its requests are admitted again.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="sessionId">The session.</param>
    /// <returns><see langword="true"/> when the session was known; <see langword="false"/> otherwise.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    bool ResetSession(string customerId, string sessionId);

    /// <summary>Gets where every limit of a customer's budgets stands now, in its current window.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="subject">A subject node (or path) to report only the budgets it passes (its own and its ancestors'), or <see langword="null"/> for all.</param>
    /// <param name="sessionId">A session whose copies of the per-session budgets to report, or <see langword="null"/> to leave them out.</param>
    /// <returns>One row per limit (per window), budget by budget.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="customerId"/> is <see langword="null"/>.</exception>
    IReadOnlyList<BudgetUsage> GetBudgetUsage(string customerId, string? subject = null, string? sessionId = null);

    /// <summary>Gets what every limit of a customer's budgets counted in the window that contains an instant, read from the ledger: a past month, or yesterday.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="at">An instant in the windows to report; a limit without a window reports everything admitted before it.</param>
    /// <param name="subject">A subject node (or path) to report only the budgets it passes, or <see langword="null"/> for all.</param>
    /// <param name="sessionId">A session whose per-session budgets to report, or <see langword="null"/> to leave them out.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>
    /// One row per limit (per window), budget by budget, for the budgets in force now, measured against their limits now: what settlements
    /// admitted in the window counted (<see cref="BudgetUsage.Held"/> is 0). Limits on requests in flight are left out: leases are not recorded.
    /// </returns>
    /// <remarks>Counts come from the ledger's <see cref="LedgerEntryKind.Budgeted"/> entries, so they include only settlements that touched at least one budget, and only those already committed.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="customerId"/> is <see langword="null"/>.</exception>
    ValueTask<IReadOnlyList<BudgetUsage>> GetBudgetUsageAsync(string customerId, DateTimeOffset at, string? subject = null, string? sessionId = null, CancellationToken cancellationToken = default);
}
