namespace UsageGuard;

/// <summary>Spend queries answered by a store from a rollup (a daily summary kept beside the ledger), not by reading every event.</summary>
/// <remarks>The built-in stores implement it; <see cref="SpendReports.QueryAsync"/> uses it when a store does, and reads the events otherwise.</remarks>
public interface ISpendQueries
{
    /// <summary>Sums the settlements of a range of days, grouped as asked.</summary>
    /// <param name="query">The query.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The rows, ordered by credit type, customer, day, subject, model and feature (ordinal; missing values first).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is null.</exception>
    /// <exception cref="ArgumentException">The query is invalid; the message says how.</exception>
    ValueTask<IReadOnlyList<SpendRow>> QuerySpendAsync(SpendQuery query, CancellationToken cancellationToken = default);
}
