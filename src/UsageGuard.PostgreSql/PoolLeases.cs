using Npgsql;

namespace UsageGuard.PostgreSql;

/// <summary>
/// The escrow primitive of the shared store: pools of capacity in PostgreSQL, and leases (slices of a pool's remaining capacity)
/// that an instance takes with one conditional update, spends locally, and gives back.
/// </summary>
/// <remarks>
/// <para>Invariant (design §8): for every pool, <c>used + leased ≤ capacity</c> after every committed statement, whatever the
/// number of instances and threads, because capacity only leaves a pool through an <c>UPDATE … WHERE capacity - used - leased ≥ n</c>
/// that PostgreSQL applies to the row one transaction at a time (READ COMMITTED re-checks the condition on the latest row version).</para>
/// <para>An instance reports what it spent when it renews or returns a lease; a lease whose owner stopped renewing is swept after its
/// expiry plus a grace period (the longest a settlement may still arrive), and only its unreported remainder returns to the pool.</para>
/// <para>Not yet wired into the engine's wallets and budgets: see docs/scale-out.md. Thread-safe.</para>
/// </remarks>
internal sealed class PoolLeases
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schema;

    internal PoolLeases(NpgsqlDataSource dataSource, string schema)
    {
        _dataSource = dataSource;
        _schema = schema;
    }

    /// <summary>Creates the pool and lease tables when missing (the store's schema version 2 creates them too).</summary>
    internal async Task EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        await using NpgsqlCommand command = _dataSource.CreateCommand($"""
            SELECT pg_advisory_lock(hashtext('usageguard.pools.{_schema}'));
            CREATE SCHEMA IF NOT EXISTS {_schema};
            {Tables(_schema)}
            SELECT pg_advisory_unlock(hashtext('usageguard.pools.{_schema}'));
            """);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The pool and lease tables, created when missing.</summary>
    internal static string Tables(string schema) => $"""
        CREATE TABLE IF NOT EXISTS {schema}.ug_pools (
            pool text PRIMARY KEY,
            capacity bigint NOT NULL CHECK (capacity >= 0),
            used bigint NOT NULL DEFAULT 0 CHECK (used >= 0),
            leased bigint NOT NULL DEFAULT 0 CHECK (leased >= 0),
            closed boolean NOT NULL DEFAULT false,
            last_grant bigint NOT NULL DEFAULT 0,
            CHECK (used + leased <= capacity));
        CREATE TABLE IF NOT EXISTS {schema}.ug_leases (
            lease_id uuid PRIMARY KEY,
            pool text NOT NULL REFERENCES {schema}.ug_pools (pool),
            instance text NOT NULL,
            amount bigint NOT NULL CHECK (amount >= 0),
            reported bigint NOT NULL DEFAULT 0,
            expires_at bigint NOT NULL);
        CREATE INDEX IF NOT EXISTS ug_leases_expiry ON {schema}.ug_leases (expires_at);
        CREATE INDEX IF NOT EXISTS ug_leases_pool ON {schema}.ug_leases (pool, instance);
        """;

    /// <summary>Creates a pool with its capacity, or leaves an existing one as it is.</summary>
    internal Task EnsurePoolAsync(string pool, long capacity, CancellationToken cancellationToken = default) => EnsurePoolAsync(pool, capacity, 0, cancellationToken);

    /// <summary>Takes a slice of the pool's remaining capacity, or null when less than <paramref name="amount"/> remains.</summary>
    internal async Task<Lease?> TakeAsync(string pool, string instance, long amount, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amount);
        var id = Guid.NewGuid();

        // One statement: the conditional update and the lease row commit together, or neither does.
        await using NpgsqlCommand command = _dataSource.CreateCommand($"""
            WITH taken AS (
                UPDATE {_schema}.ug_pools SET leased = leased + $3
                WHERE pool = $1 AND capacity - used - leased >= $3
                RETURNING pool)
            INSERT INTO {_schema}.ug_leases (lease_id, pool, instance, amount, expires_at)
            SELECT $4, pool, $2, $3, $5 FROM taken;
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pool });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = instance });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = amount });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = expiresAt.UtcTicks });
        int rows = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return rows == 1 ? new Lease(id, pool, amount) : null;
    }

    /// <summary>Reports what a lease spent so far and extends it; false when the lease was swept (its owner must stop spending from it).</summary>
    internal async Task<bool> RenewAsync(Lease lease, long spentSoFar, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        await using NpgsqlCommand command = _dataSource.CreateCommand($"UPDATE {_schema}.ug_leases SET reported = greatest(reported, $2), expires_at = $3 WHERE lease_id = $1 AND $2 <= amount;");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = lease.Id });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = spentSoFar });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = expiresAt.UtcTicks });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>Gives a lease back: what it spent becomes used, the rest returns to the pool. False when it was already swept or returned.</summary>
    internal Task<bool> ReturnAsync(Lease lease, long spent, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(spent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(spent, lease.Amount);
        return EndAsync(lease.Id, spent, cancellationToken);
    }

    /// <summary>Spends directly from the pool, without a lease (near exhaustion): one conditional update; false when it does not fit.</summary>
    internal async Task<bool> SpendDirectAsync(string pool, long amount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amount);
        await using NpgsqlCommand command = _dataSource.CreateCommand($"UPDATE {_schema}.ug_pools SET used = used + $2 WHERE pool = $1 AND capacity - used - leased >= $2;");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pool });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = amount });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>
    /// Returns the leases that expired before <paramref name="before"/> (expiry plus the grace a late settlement may take): what their owners
    /// reported becomes used, the rest goes back to the pool. Returns how many leases were swept.
    /// </summary>
    internal async Task<int> SweepAsync(DateTimeOffset before, CancellationToken cancellationToken = default)
    {
        await using NpgsqlCommand command = _dataSource.CreateCommand($"""
            WITH gone AS (DELETE FROM {_schema}.ug_leases WHERE expires_at < $1 RETURNING pool, amount, reported),
                 sums AS (SELECT pool, sum(amount) AS amount, sum(reported) AS reported, count(*) AS n FROM gone GROUP BY pool)
            UPDATE {_schema}.ug_pools p SET leased = p.leased - sums.amount, used = p.used + LEAST(sums.reported, sums.amount) FROM sums WHERE p.pool = sums.pool
            RETURNING sums.n;
            """);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = before.UtcTicks });
        int swept = 0;
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            swept += (int)reader.GetInt64(0);
        }

        return swept;
    }

    /// <summary>Creates a pool with its capacity and what was used before it was shared, or leaves an existing one as it is.</summary>
    internal async Task EnsurePoolAsync(string pool, long capacity, long used, CancellationToken cancellationToken = default)
    {
        await using NpgsqlCommand command = _dataSource.CreateCommand($"INSERT INTO {_schema}.ug_pools (pool, capacity, used) VALUES ($1, $2, $3) ON CONFLICT (pool) DO NOTHING;");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pool });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = capacity });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Math.Min(used, capacity) });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Grows an instance's lease on a pool (creating it on the first call): by exactly <paramref name="amount"/> when
    /// <paramref name="exact"/>, else by as much of it as remains. One statement: the pool's row is locked, the grant is computed
    /// from its latest version, and the pool and the lease change together.
    /// </summary>
    /// <returns>What was granted (0 when nothing fits), the lease's amount after it, and whether the lease row was created (on a
    /// lease the instance believed it held, this means the lease was swept meanwhile).</returns>
    /// <remarks>A lease taken <c>whole</c> counts as spent whole (<c>reported</c> follows its amount) until it ends: a sweep gives nothing of it back.</remarks>
    internal async Task<(long Granted, long Amount, bool Created)> GrowAsync(string pool, Guid leaseId, string instance, long amount, bool exact, DateTimeOffset expiresAt, bool whole = false, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amount);
        await using NpgsqlCommand command = _dataSource.CreateCommand($"""
            WITH p AS (
                -- One UPDATE: every expression in SET reads the row as it was, and READ COMMITTED re-evaluates them on the
                -- latest version, so the grant is computed from the row it changes (last_grant carries it to the lease).
                UPDATE {_schema}.ug_pools
                SET leased = leased + LEAST($4, capacity - used - leased), last_grant = LEAST($4, capacity - used - leased)
                WHERE pool = $1 AND NOT closed AND capacity - used - leased >= (CASE WHEN $6 THEN $4 ELSE 1 END)
                RETURNING last_grant AS g),
            ins AS (
                INSERT INTO {_schema}.ug_leases AS l (lease_id, pool, instance, amount, reported, expires_at)
                SELECT $2, $1, $3, g, CASE WHEN $7 THEN g ELSE 0 END, $5 FROM p
                ON CONFLICT (lease_id) DO UPDATE SET amount = l.amount + EXCLUDED.amount, reported = l.reported + EXCLUDED.reported, expires_at = EXCLUDED.expires_at
                RETURNING l.amount, (l.xmax = 0) AS created)
            SELECT p.g, ins.amount, ins.created FROM p, ins;
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pool });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = leaseId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = instance });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = amount });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = expiresAt.UtcTicks });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = exact });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = whole });
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        (long, long, bool) result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? (reader.GetInt64(0), reader.GetInt64(1), reader.GetBoolean(2))
            : (0, -1, false);
        if (LoseGrowAnswers > 0 && Interlocked.Decrement(ref LoseGrowAnswers) >= 0)
        {
            throw new TimeoutException("Test hook: the grow was applied, and its answer is lost.");
        }

        return result;
    }

    /// <summary>Test hook: the next this many grows are applied by the store, and their answers lost (the caller sees a time-out).</summary>
    internal int LoseGrowAnswers;

    /// <summary>Gets a lease's amount at the store, or null when there is no such lease (never taken, swept or ended).</summary>
    internal async Task<long?> LeaseAmountAsync(Guid leaseId, CancellationToken cancellationToken = default)
    {
        await using NpgsqlCommand command = _dataSource.CreateCommand($"SELECT amount FROM {_schema}.ug_leases WHERE lease_id = $1;");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = leaseId });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long amount ? amount : null;
    }

    /// <summary>
    /// Shrinks a lease to <paramref name="amount"/> units, giving the difference back to its pool; false when the lease was swept. Idempotent:
    /// sent again after its answer was lost, it gives back nothing more.
    /// </summary>
    internal async Task<bool> ShrinkToAsync(Guid leaseId, long amount, CancellationToken cancellationToken = default)
    {
        await using NpgsqlCommand command = _dataSource.CreateCommand($"""
            WITH old AS (SELECT pool, amount FROM {_schema}.ug_leases WHERE lease_id = $1 AND amount >= $2 FOR UPDATE),
            l AS (UPDATE {_schema}.ug_leases x SET amount = $2, reported = LEAST(x.reported, $2) FROM old WHERE x.lease_id = $1 RETURNING old.pool, old.amount - $2 AS given)
            UPDATE {_schema}.ug_pools p SET leased = p.leased - l.given FROM l WHERE p.pool = l.pool;
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = leaseId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = amount });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>Reports what a lease has spent or holds and extends it; false when it was swept (its owner must stop spending from it).</summary>
    internal async Task<bool> ReportAsync(Guid leaseId, long committed, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        await using NpgsqlCommand command = _dataSource.CreateCommand($"UPDATE {_schema}.ug_leases SET reported = LEAST(amount, greatest(reported, $2)), expires_at = $3 WHERE lease_id = $1;");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = leaseId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = committed });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = expiresAt.UtcTicks });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>Ends a lease: what it spent becomes used (at most its amount), the rest returns to the pool. False when it was swept or ended.</summary>
    internal async Task<bool> EndAsync(Guid leaseId, long spent, CancellationToken cancellationToken = default)
    {
        await using NpgsqlCommand command = _dataSource.CreateCommand($"""
            WITH gone AS (DELETE FROM {_schema}.ug_leases WHERE lease_id = $1 RETURNING pool, amount)
            UPDATE {_schema}.ug_pools p SET leased = p.leased - gone.amount, used = p.used + LEAST(gone.amount, GREATEST(0, $2)) FROM gone WHERE p.pool = gone.pool;
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = leaseId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = spent });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>
    /// Closes a pool (its block expired or was voided): no lease grows from it again. Returns what no lease held, which the caller
    /// records as removed; 0 when another instance closed it first. A pool nobody leased is created closed.
    /// </summary>
    internal async Task<long> CloseAsync(string pool, long capacity, long used, CancellationToken cancellationToken = default)
    {
        await using NpgsqlCommand command = _dataSource.CreateCommand($"""
            INSERT INTO {_schema}.ug_pools AS p (pool, capacity, used, closed) VALUES ($1, $2, $3, true)
            ON CONFLICT (pool) DO UPDATE SET closed = true WHERE NOT p.closed
            RETURNING p.capacity - p.used - p.leased;
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pool });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = capacity });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Math.Min(used, capacity) });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long rest ? rest : 0;
    }

    /// <summary>
    /// Ends every lease an instance still has in the table (a grow whose answer a shutdown cancelled leaves one the instance does not
    /// know of): each counts as used what it reported, as a sweep would, and the rest goes back. Returns how many there were.
    /// </summary>
    internal async Task<int> EndInstanceAsync(string instance, CancellationToken cancellationToken = default)
    {
        await using NpgsqlCommand command = _dataSource.CreateCommand($"""
            WITH gone AS (DELETE FROM {_schema}.ug_leases WHERE instance = $1 RETURNING pool, amount, reported),
                 sums AS (SELECT pool, sum(amount) AS amount, sum(LEAST(reported, amount)) AS reported, count(*) AS n FROM gone GROUP BY pool)
            UPDATE {_schema}.ug_pools p SET leased = p.leased - sums.amount, used = p.used + sums.reported FROM sums WHERE p.pool = sums.pool
            RETURNING sums.n;
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = instance });
        int ended = 0;
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            ended += (int)reader.GetInt64(0);
        }

        return ended;
    }

    /// <summary>Sets a pool's capacity (a budget's limit changed), never below what is used and leased from it.</summary>
    internal async Task SetCapacityAsync(string pool, long capacity, CancellationToken cancellationToken = default)
    {
        await using NpgsqlCommand command = _dataSource.CreateCommand($"UPDATE {_schema}.ug_pools SET capacity = GREATEST($2, used + leased) WHERE pool = $1;");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pool });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = capacity });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes a pool no lease is on any more (a budget window that ended); one a lease is taken on meanwhile stays.</summary>
    internal async Task DropIfUnleasedAsync(string pool, CancellationToken cancellationToken = default)
    {
        await using NpgsqlCommand command = _dataSource.CreateCommand($"DELETE FROM {_schema}.ug_pools p WHERE p.pool = $1 AND NOT EXISTS (SELECT 1 FROM {_schema}.ug_leases l WHERE l.pool = $1);");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pool });
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            // Another instance took a lease on it between the check and the delete: the pool stays, and is dropped after that lease.
        }
    }

    /// <summary>Reads what a pool has that no lease holds and nothing used (0 for a pool that does not exist).</summary>
    internal async Task<long> FreeAsync(string pool, CancellationToken cancellationToken = default)
    {
        await using NpgsqlCommand command = _dataSource.CreateCommand($"SELECT capacity - used - leased FROM {_schema}.ug_pools WHERE pool = $1;");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pool });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long free ? free : 0;
    }

    /// <summary>Reads a pool's capacity, used and leased amounts.</summary>
    internal async Task<(long Capacity, long Used, long Leased)> ReadAsync(string pool, CancellationToken cancellationToken = default)
    {
        await using NpgsqlCommand command = _dataSource.CreateCommand($"SELECT capacity, used, leased FROM {_schema}.ug_pools WHERE pool = $1;");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pool });
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2))
            : throw new InvalidOperationException($"Pool '{pool}' does not exist.");
    }

    /// <summary>A slice of a pool's capacity held by one instance.</summary>
    internal sealed record Lease(Guid Id, string Pool, long Amount);
}
