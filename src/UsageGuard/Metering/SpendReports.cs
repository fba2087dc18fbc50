namespace UsageGuard;

/// <summary>Spend queries over any ledger store: from the store's rollup when it keeps one (<see cref="ISpendQueries"/>), otherwise from its events.</summary>
public static class SpendReports
{
    /// <summary>Sums the settlements of a range of days, grouped as asked.</summary>
    /// <param name="store">The ledger store.</param>
    /// <param name="query">The query.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The rows (see <see cref="ISpendQueries.QuerySpendAsync"/>).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="store"/> or <paramref name="query"/> is null.</exception>
    /// <exception cref="ArgumentException">The query is invalid; the message says how.</exception>
    public static async ValueTask<IReadOnlyList<SpendRow>> QueryAsync(ILedgerStore store, SpendQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        if (store is ISpendQueries rolledUp)
        {
            return await rolledUp.QuerySpendAsync(query, cancellationToken).ConfigureAwait(false);
        }

        var rollup = new Dictionary<SpendKey, SpendTotals>();
        await foreach (LedgerEntry entry in store.ReadAsync(0, cancellationToken).ConfigureAwait(false))
        {
            SpendRollup.Add(rollup, entry);
        }

        return SpendRollup.Group(rollup, query);
    }
}
