using System.Globalization;
using Npgsql;

namespace UsageGuard.PostgreSql;

public sealed partial class PostgreSqlLedgerStore
{
    /// <summary>The most settlements rolled up in one transaction: a long backlog is caught up in bounded memory.</summary>
    private const int MaxSpendStep = 200_000;

    private string SpendSchema() => $"""
        CREATE TABLE {_schema}.ug_spend_days (
            customer_id text NOT NULL, day integer NOT NULL, credit_type text NOT NULL, subject_path text NOT NULL, model text NOT NULL, feature text NOT NULL,
            requests bigint NOT NULL, consumed bigint NOT NULL, overage bigint NOT NULL, tokens bigint NOT NULL,
            price bigint NOT NULL, priced bigint NOT NULL, cost bigint NOT NULL, costed bigint NOT NULL, scale smallint NOT NULL,
            PRIMARY KEY (customer_id, day, credit_type, subject_path, model, feature));
        CREATE INDEX ug_spend_days_day ON {_schema}.ug_spend_days (day);
        CREATE TABLE {_schema}.ug_spend_days_coarse (LIKE {_schema}.ug_spend_days INCLUDING ALL);
        INSERT INTO {_schema}.ug_meta (name, value) VALUES ('spend_rolled_through', '0');
        """;

    /// <inheritdoc />
    /// <remarks>
    /// Answered from the daily rollup table <c>ug_spend_days</c>, shared by every instance: a query first rolls up the settlements
    /// committed since the rollup's mark (one instance at a time, under an advisory lock; the others find the work done), then sums
    /// the rows of its days (docs/usage-events.md).
    /// </remarks>
    public async ValueTask<IReadOnlyList<SpendRow>> QuerySpendAsync(SpendQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        await EnsureOpenAsync(cancellationToken).ConfigureAwait(false);
        await Run(() => RollUpSpendAsync(cancellationToken), "rolling up spend").ConfigureAwait(false);
        List<KeyValuePair<SpendKey, SpendTotals>> cells = await Run(() => SpendCellsAsync(query, cancellationToken), "querying spend").ConfigureAwait(false);
        return SpendRollup.Group(cells, query);
    }

    private async Task<bool> RollUpSpendAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            long mark;
            long through;
            int count = 0;
            var cells = new Dictionary<SpendKey, SpendTotals>();
            var strings = new Utf8Strings();

            // One snapshot for the read: appends commit in sequence order (under the append lock), so the rows after the mark and the
            // ledger's end are read as of one instant.
            await using (NpgsqlTransaction read = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false))
            {
                mark = await SpendMarkAsync(connection, read, cancellationToken).ConfigureAwait(false);
                through = mark;
                await using (NpgsqlCommand rows = new($"SELECT {SpendRollup.SettlementColumns} FROM {_schema}.ug_entries WHERE seq > $1 AND settlement IS NOT NULL ORDER BY seq LIMIT $2;", connection, read))
                {
                    rows.Parameters.Add(new NpgsqlParameter<long> { TypedValue = mark });
                    rows.Parameters.Add(new NpgsqlParameter<int> { TypedValue = MaxSpendStep });
                    await using NpgsqlDataReader r = await rows.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        through = SpendRollup.AddRow(cells, r, strings);
                        count++;
                    }
                }

                if (count < MaxSpendStep)
                {
                    await using NpgsqlCommand last = new($"SELECT COALESCE(MAX(seq), 0) FROM {_schema}.ug_entries;", connection, read);
                    through = Math.Max(through, (long)(await last.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!);
                }

                await read.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            if (through == mark)
            {
                return true;
            }

            await using (NpgsqlTransaction write = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
            {
                await Execute(connection, write, $"SELECT pg_advisory_xact_lock(hashtext('usageguard.spend.{_schema}'));", cancellationToken).ConfigureAwait(false);
                if (await SpendMarkAsync(connection, write, cancellationToken).ConfigureAwait(false) != mark)
                {
                    // Another instance rolled up meanwhile: read again from its mark.
                    await write.RollbackAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                await UpsertSpendAsync(connection, write, "ug_spend_days", cells, cancellationToken).ConfigureAwait(false);
                await UpsertSpendAsync(connection, write, "ug_spend_days" + SpendRollup.CoarseSuffix, SpendRollup.Coarsen(cells), cancellationToken).ConfigureAwait(false);
                await using (NpgsqlCommand move = new($"UPDATE {_schema}.ug_meta SET value = $1 WHERE name = 'spend_rolled_through';", connection, write))
                {
                    move.Parameters.Add(new NpgsqlParameter<string> { TypedValue = through.ToString(CultureInfo.InvariantCulture) });
                    await move.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await write.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            if (count < MaxSpendStep)
            {
                return true;
            }
        }
    }

    private async Task<long> SpendMarkAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = new($"SELECT value FROM {_schema}.ug_meta WHERE name = 'spend_rolled_through';", connection, transaction);
        return long.Parse((string)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!, CultureInfo.InvariantCulture);
    }

    private async Task UpsertSpendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string table, Dictionary<SpendKey, SpendTotals> cells, CancellationToken cancellationToken)
    {
        int n = cells.Count;
        var customer = new string[n];
        var day = new int[n];
        var type = new string[n];
        var path = new string[n];
        var model = new string[n];
        var feature = new string[n];
        var sums = new long[8][];
        for (int k = 0; k < sums.Length; k++)
        {
            sums[k] = new long[n];
        }

        var scale = new short[n];
        int i = 0;
        foreach ((SpendKey key, SpendTotals t) in cells)
        {
            (customer[i], day[i], type[i], path[i], model[i], feature[i]) = (key.CustomerId, key.Day, key.CreditType, key.SubjectPath, key.Model, key.Feature);
            (sums[0][i], sums[1][i], sums[2][i], sums[3][i], sums[4][i], sums[5][i], sums[6][i], sums[7][i]) = (t.Requests, t.Consumed, t.Overage, t.Tokens, t.Price, t.Priced, t.Cost, t.Costed);
            scale[i] = (short)t.Scale;
            i++;
        }

        await using NpgsqlCommand upsert = new(
            $"""
            INSERT INTO {_schema}.{table} AS d
            SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::smallint[])
            ON CONFLICT (customer_id, day, credit_type, subject_path, model, feature) DO UPDATE SET
                requests = d.requests + excluded.requests, consumed = d.consumed + excluded.consumed, overage = d.overage + excluded.overage,
                tokens = d.tokens + excluded.tokens, price = d.price + excluded.price, priced = d.priced + excluded.priced,
                cost = d.cost + excluded.cost, costed = d.costed + excluded.costed;
            """,
            connection,
            transaction);
        upsert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = customer });
        upsert.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = day });
        upsert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = type });
        upsert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = path });
        upsert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = model });
        upsert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = feature });
        foreach (long[] column in sums)
        {
            upsert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = column });
        }

        upsert.Parameters.Add(new NpgsqlParameter<short[]> { TypedValue = scale });
        await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<List<KeyValuePair<SpendKey, SpendTotals>>> SpendCellsAsync(SpendQuery query, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlCommand command = new(SpendRollup.CellsSql(query, $"{_schema}.ug_spend_days", "$1", "$2", "$3", static sum => sum + "::bigint"), connection);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = SpendRollup.DayOf(query.From) });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = SpendRollup.DayOf(query.To) });
        if (query.CustomerId is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = query.CustomerId });
        }

        var cells = new List<KeyValuePair<SpendKey, SpendTotals>>();
        await using NpgsqlDataReader r = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            cells.Add(SpendRollup.ReadCell(r));
        }

        return cells;
    }
}
