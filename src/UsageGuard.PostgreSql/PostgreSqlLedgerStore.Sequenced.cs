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
    /// <remarks>Not used by the engine yet: its writer sequences entries itself (one writing instance). This is the primitive many writers will use.</remarks>
    internal async Task<IReadOnlyList<LedgerEntry>> AppendSequencedAsync(IReadOnlyList<LedgerEntry> entries, IReadOnlyList<IdempotencyRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(records);
        ObjectDisposedException.ThrowIf(_disposed, this);
        await EnsureOpenAsync(cancellationToken).ConfigureAwait(false);
        return await Run(
            async () =>
            {
                await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await LockAppendsAsync(connection, transaction, cancellationToken).ConfigureAwait(false);

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
                foreach ((string customer, string creditType) in entries.Select(e => (e.CustomerId, e.CreditType)).Distinct())
                {
                    await using NpgsqlCommand last = new($"SELECT balance_after FROM {_schema}.ug_entries WHERE customer_id = $1 AND credit_type = $2 ORDER BY seq DESC LIMIT 1;", connection, transaction);
                    last.Parameters.Add(new NpgsqlParameter<string> { TypedValue = customer });
                    last.Parameters.Add(new NpgsqlParameter<string> { TypedValue = creditType });
                    balances[(customer, creditType)] = await last.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long balance ? balance : 0;
                }

                var stored = new LedgerEntry[entries.Count];
                using (var hasher = new LedgerEntryHasher())
                {
                    for (int i = 0; i < entries.Count; i++)
                    {
                        LedgerEntry e = entries[i];
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
                await UpsertRecordsAsync(connection, transaction, records, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return (IReadOnlyList<LedgerEntry>)stored;
            },
            "appending a sequenced batch").ConfigureAwait(false);
    }

    /// <summary>Serializes appends to this ledger across instances until the transaction ends.</summary>
    private Task LockAppendsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        Execute(connection, transaction, $"SELECT pg_advisory_xact_lock(hashtext('usageguard.append.{_schema}'));", cancellationToken);
}
