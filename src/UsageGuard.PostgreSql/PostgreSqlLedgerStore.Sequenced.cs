using Microsoft.Extensions.Logging;
using Npgsql;

namespace UsageGuard.PostgreSql;

public sealed partial class PostgreSqlLedgerStore
{
    /// <summary>
    /// Appends entries that no writer has sequenced yet: the store numbers them after the newest stored entry, sets each wallet's
    /// balance before and after from the wallet's newest stored entry, chains their hashes, and commits them with their
    /// idempotency records, all in one transaction under the ledger's append lock. Many instances can append this way to one
    /// ledger and it stays one verifiable chain (design 1 of docs/scale-out.md).
    /// </summary>
    /// <param name="entries">The entries; their <see cref="LedgerEntry.Sequence"/>, balances and hashes are ignored and assigned here.</param>
    /// <param name="records">The idempotency records that commit with them.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns>The entries as stored: numbered, balanced and chained.</returns>
    internal Task<IReadOnlyList<LedgerEntry>> AppendSequencedAsync(IReadOnlyList<LedgerEntry> entries, IReadOnlyList<IdempotencyRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        return AppendSequencedAsync(Guid.CreateVersion7(), entries.ToArray(), records, cancellationToken);
    }

    /// <inheritdoc />
    bool ISharedLedgerStore.ManyInstances => _options.ManyInstances;

    /// <inheritdoc />
    async ValueTask<long> ISharedLedgerStore.AppendUnsequencedAsync(Guid batchId, ReadOnlyMemory<LedgerEntry> entries, IReadOnlyList<IdempotencyRecord> records, CancellationToken cancellationToken)
    {
        IReadOnlyList<LedgerEntry> stored = await AppendSequencedAsync(batchId, entries, records, cancellationToken).ConfigureAwait(false);
        return stored.Count == 0 ? 0 : stored[0].Sequence;
    }

    /// <inheritdoc />
    IPoolEscrow ISharedLedgerStore.CreateEscrow(IPoolEscrowOwner owner, TimeProvider time, ILogger logger)
    {
        var escrow = new LeaseEscrow(new PoolLeases(_dataSource, _schema), owner, time, logger, _options.Leases, _options.StallTimeout);
        _leaseInstance = escrow.Instance;
        _sharedLogger = logger;
        return escrow;
    }

    /// <inheritdoc />
    long ISharedLedgerStore.PublishChange(string topic, string payload, DateTimeOffset now)
    {
        EnsureOpenAsync(CancellationToken.None).GetAwaiter().GetResult();
        return RunSync(() => ChangeFeed.Publish(_dataSource, _schema, topic, payload, now), "publishing a change");
    }

    /// <inheritdoc />
    IReadOnlyList<SharedChange> ISharedLedgerStore.ReadChanges(long after)
    {
        EnsureOpenAsync(CancellationToken.None).GetAwaiter().GetResult();
        return RunSync(
            () =>
            {
                using NpgsqlConnection connection = _dataSource.OpenConnection();
                return ChangeFeed.Read(connection, _schema, after);
            },
            "reading the change feed");
    }

    /// <inheritdoc />
    IAsyncDisposable ISharedLedgerStore.FollowChanges(long after, Action<SharedChange> apply, ILogger logger) =>
        ChangeFeed.Follow(_dataSource, _schema, after, apply, logger);

    /// <inheritdoc />
    TimeSpan ISharedLedgerStore.StallTimeout => _options.StallTimeout;

    /// <inheritdoc />
    string? ISharedLedgerStore.OutboxDirectory => _options.OutboxDirectory;

    /// <summary>For tests: the next this many sequenced appends commit, then fail as if the answer to their COMMIT was lost.</summary>
    internal int LoseCommitOutcomes;

    /// <inheritdoc />
    async ValueTask<IReadOnlyList<(long First, int Count)>> ISharedLedgerStore.FindBatchesAsync(IReadOnlyList<Guid> batchIds, CancellationToken cancellationToken)
    {
        await EnsureOpenAsync(cancellationToken).ConfigureAwait(false);
        return await Run(
            async () =>
            {
                await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using NpgsqlCommand find = new($"SELECT first_seq, entry_count FROM {_schema}.ug_batches WHERE batch_id = ANY($1);", connection);
                find.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. batchIds] });
                var found = new List<(long First, int Count)>();
                await using NpgsqlDataReader reader = await find.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    found.Add((reader.GetInt64(0), reader.GetInt32(1)));
                }

                return (IReadOnlyList<(long First, int Count)>)found;
            },
            "finding batches").ConfigureAwait(false);
    }

    /// <inheritdoc />
    TimeSpan ISharedLedgerStore.KeyClaimLife => _options.Leases.LeaseTtl + _options.Leases.SweepGrace;

    /// <inheritdoc />
    async ValueTask<KeyClaim> ISharedLedgerStore.ClaimKeyAsync(string customerId, string key, string fingerprint, DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        string owner = _leaseInstance ?? throw new InvalidOperationException("Keys are claimed once the instance's escrow exists.");
        await EnsureOpenAsync(cancellationToken).ConfigureAwait(false);
        return await Run(
            async () =>
            {
                await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

                // Claimed when the key is new, or unfinished and either this instance's or expired (its owner stopped).
                await using (NpgsqlCommand claim = new($"""
                    INSERT INTO {_schema}.ug_idempotency (customer_id, key, fingerprint, created_at, outcome, owner, claim_expires)
                    VALUES ($1, $2, $3, $4, NULL, $5, $6)
                    ON CONFLICT (customer_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, created_at = excluded.created_at, owner = excluded.owner, claim_expires = excluded.claim_expires
                    WHERE {_schema}.ug_idempotency.outcome IS NULL AND {_schema}.ug_idempotency.fingerprint = excluded.fingerprint
                      AND ({_schema}.ug_idempotency.owner = excluded.owner OR {_schema}.ug_idempotency.claim_expires < $4);
                    """, connection))
                {
                    claim.Parameters.Add(new NpgsqlParameter<string> { TypedValue = customerId });
                    claim.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
                    claim.Parameters.Add(new NpgsqlParameter<string> { TypedValue = fingerprint });
                    claim.Parameters.Add(new NpgsqlParameter<long> { TypedValue = now.UtcTicks });
                    claim.Parameters.Add(new NpgsqlParameter<string> { TypedValue = owner });
                    claim.Parameters.Add(new NpgsqlParameter<long> { TypedValue = expiresAt.UtcTicks });
                    if (await claim.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
                    {
                        return KeyClaim.Won;
                    }
                }

                // Another instance's: a new statement sees the row the claim ran into, finished or not.
                await using NpgsqlCommand read = new($"SELECT fingerprint, outcome, claim_expires FROM {_schema}.ug_idempotency WHERE customer_id = $1 AND key = $2;", connection);
                read.Parameters.Add(new NpgsqlParameter<string> { TypedValue = customerId });
                read.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
                await using NpgsqlDataReader reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    // Released or pruned between the two statements: ask again.
                    return new KeyClaim(false, null, null, null);
                }

                return new KeyClaim(
                    false,
                    reader.GetString(0),
                    reader.IsDBNull(1) ? null : reader.GetString(1),
                    reader.IsDBNull(2) ? null : new DateTimeOffset(reader.GetInt64(2), TimeSpan.Zero));
            },
            "claiming an idempotency key").ConfigureAwait(false);
    }

    /// <inheritdoc />
    async ValueTask ISharedLedgerStore.ReleaseKeyAsync(string customerId, string key, CancellationToken cancellationToken)
    {
        await Run(
            async () =>
            {
                await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using NpgsqlCommand release = new($"DELETE FROM {_schema}.ug_idempotency WHERE customer_id = $1 AND key = $2 AND owner = $3 AND outcome IS NULL;", connection);
                release.Parameters.Add(new NpgsqlParameter<string> { TypedValue = customerId });
                release.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
                release.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _leaseInstance! });
                return await release.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            },
            "releasing an idempotency key").ConfigureAwait(false);
    }

    /// <summary>The same, under a batch id: a batch id already committed (a commit whose outcome was lost, sent again) applies nothing and returns what it stored.</summary>
    internal async Task<IReadOnlyList<LedgerEntry>> AppendSequencedAsync(Guid batchId, ReadOnlyMemory<LedgerEntry> batch, IReadOnlyList<IdempotencyRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        ObjectDisposedException.ThrowIf(_disposed, this);
        await EnsureOpenAsync(cancellationToken).ConfigureAwait(false);
        return await Run(
            async () =>
            {
                await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await LockAppendsAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                if (await StoredBatchAsync(connection, transaction, batchId, cancellationToken).ConfigureAwait(false) is { } already)
                {
                    return already;
                }

                ReadOnlyMemory<LedgerEntry> entries = batch;
                long sequence = 0;
                LedgerHash previous = LedgerHash.Genesis;
                await using (NpgsqlCommand head = new($"SELECT seq, hash FROM {_schema}.ug_entries ORDER BY seq DESC LIMIT 1;", connection, transaction))
                await using (NpgsqlDataReader reader = await head.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        sequence = reader.GetInt64(0);
                        previous = LedgerHash.FromBytes((byte[])reader.GetValue(1));
                    }
                }

                var balances = new Dictionary<(string Customer, string CreditType), long>();
                var wallets = new HashSet<(string, string)>();
                foreach (LedgerEntry e in entries.Span)
                {
                    wallets.Add((e.CustomerId, e.CreditType));
                }

                foreach ((string customer, string creditType) in wallets)
                {
                    await using NpgsqlCommand last = new($"SELECT balance_after FROM {_schema}.ug_entries WHERE customer_id = $1 AND credit_type = $2 ORDER BY seq DESC LIMIT 1;", connection, transaction);
                    last.Parameters.Add(new NpgsqlParameter<string> { TypedValue = customer });
                    last.Parameters.Add(new NpgsqlParameter<string> { TypedValue = creditType });
                    balances[(customer, creditType)] = await last.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long balance ? balance : 0;
                }

                var stored = new LedgerEntry[entries.Length];
                using (var hasher = new LedgerEntryHasher())
                {
                    for (int i = 0; i < stored.Length; i++)
                    {
                        LedgerEntry e = entries.Span[i];
                        long before = balances[(e.CustomerId, e.CreditType)];
                        long after = checked(before + LedgerProjection.BalanceEffect(e));
                        balances[(e.CustomerId, e.CreditType)] = after;
                        int scale = e.Amount.Scale;
                        LedgerEntry numbered = e with
                        {
                            Sequence = ++sequence,
                            BalanceBefore = CreditAmount.FromUnits(before, scale),
                            BalanceAfter = CreditAmount.FromUnits(after, scale),
                            PreviousHash = previous,
                        };
                        stored[i] = numbered with { Hash = hasher.Compute(numbered, previous) };
                        previous = stored[i].Hash;
                    }
                }

                await CopyEntriesAsync(connection, stored, cancellationToken).ConfigureAwait(false);
                int overtaken = await UpsertRecordsAsync(connection, transaction, records, cancellationToken).ConfigureAwait(false);
                if (overtaken > 0 && _sharedLogger is { } logger)
                {
                    LogKeysOvertaken(logger, overtaken);
                }

                await ReportSettledAsync(connection, transaction, stored, cancellationToken).ConfigureAwait(false);
                if (stored.Length > 0)
                {
                    await using NpgsqlCommand mark = new($"INSERT INTO {_schema}.ug_batches (batch_id, first_seq, entry_count) VALUES ($1, $2, $3);", connection, transaction);
                    mark.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = batchId });
                    mark.Parameters.Add(new NpgsqlParameter<long> { TypedValue = stored[0].Sequence });
                    mark.Parameters.Add(new NpgsqlParameter<int> { TypedValue = stored.Length });
                    await mark.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                if (LoseCommitOutcomes > 0 && Interlocked.Decrement(ref LoseCommitOutcomes) >= 0)
                {
                    throw new NpgsqlException("The answer to COMMIT was lost (simulated by a test).", new IOException("simulated"));
                }

                return (IReadOnlyList<LedgerEntry>)stored;
            },
            "appending a sequenced batch").ConfigureAwait(false);
    }

    /// <summary>
    /// In the batch's transaction, adds what its settlements used on each block to this instance's lease on the block: a sweep after a
    /// crash then counts exactly the use the ledger holds, no more (holds that never settled go back) and no less (no unit is sold twice).
    /// </summary>
    private async Task ReportSettledAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, LedgerEntry[] stored, CancellationToken cancellationToken)
    {
        if (_leaseInstance is not { } instance)
        {
            return;
        }

        var used = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (LedgerEntry entry in stored)
        {
            if (entry.Kind == LedgerEntryKind.Settle && entry.BlockId is { } block && entry.Amount.Units < 0)
            {
                string pool = LeaseEscrow.PoolOf(block);
                used[pool] = used.GetValueOrDefault(pool) - entry.Amount.Units;
            }
        }

        if (used.Count == 0)
        {
            return;
        }

        await using NpgsqlCommand report = new($"UPDATE {_schema}.ug_leases l SET reported = LEAST(l.amount, l.reported + v.n) FROM unnest($1::text[], $2::bigint[]) AS v(pool, n) WHERE l.pool = v.pool AND l.instance = $3;", connection, transaction);
        report.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. used.Keys] });
        report.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. used.Values] });
        report.Parameters.Add(new NpgsqlParameter<string> { TypedValue = instance });
        await report.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads back the entries of a batch id already committed, or null when it was not.</summary>
    private async Task<IReadOnlyList<LedgerEntry>?> StoredBatchAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid batchId, CancellationToken cancellationToken)
    {
        long first;
        int count;
        await using (NpgsqlCommand find = new($"SELECT first_seq, entry_count FROM {_schema}.ug_batches WHERE batch_id = $1;", connection, transaction))
        {
            find.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = batchId });
            await using NpgsqlDataReader reader = await find.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            first = reader.GetInt64(0);
            count = reader.GetInt32(1);
        }

        var stored = new List<LedgerEntry>(count);
        await using NpgsqlCommand read = new($"SELECT {EntryColumns} FROM {_schema}.ug_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq;", connection, transaction);
        read.Parameters.Add(new NpgsqlParameter<long> { TypedValue = first });
        read.Parameters.Add(new NpgsqlParameter<long> { TypedValue = first + count });
        await using NpgsqlDataReader rows = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await rows.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            stored.Add(ReadEntry(rows));
        }

        return stored;
    }

    /// <summary>
    /// Serializes appends to this ledger across instances until the transaction ends. The server ends the transaction, and frees the
    /// lock, when its client goes silent for <see cref="PostgreSqlLedgerStoreOptions.StallTimeout"/> mid-append (a connection the
    /// network cut): one stalled instance cannot stop every other instance's appends.
    /// </summary>
    private Task LockAppendsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        Execute(
            connection,
            transaction,
            $"""
            SET LOCAL idle_in_transaction_session_timeout = {(long)_options.StallTimeout.TotalMilliseconds};
            SELECT pg_advisory_xact_lock(hashtext('usageguard.append.{_schema}'));
            """,
            cancellationToken);

    [LoggerMessage(EventId = 155, Level = LogLevel.Warning, Message = "{Count} idempotency keys of this batch were taken over by another instance after this instance's claim expired (it was paused past the claim's life): their operations ran twice; the first outcome is kept.")]
    private static partial void LogKeysOvertaken(ILogger logger, int count);
}
