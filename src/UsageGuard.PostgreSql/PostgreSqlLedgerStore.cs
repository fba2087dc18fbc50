using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace UsageGuard.PostgreSql;

/// <summary>
/// The ledger kept in PostgreSQL: entries, snapshots and idempotency records in one schema, written in one transaction per batch.
/// </summary>
/// <remarks>
/// <para>Thread-safe. Appends come from the engine's single ledger writer, one batch at a time; reads run concurrently on pooled
/// connections. The schema is created or migrated when the store opens, under an advisory lock, so instances starting together do
/// not race.</para>
/// <para>A batch is one READ COMMITTED transaction: its entries (binary <c>COPY</c>) and its idempotency records (upserts) commit
/// together or not at all. A batch sent again after a commit whose outcome was lost (a connection dropped during <c>COMMIT</c>)
/// applies once: the entries already stored with the same hashes are skipped.</para>
/// </remarks>
public sealed partial class PostgreSqlLedgerStore : ILedgerStore, ISharedLedgerStore, ISpendQueries, IDisposable, IAsyncDisposable
{
    /// <summary>The schema version this release creates and understands.</summary>
    public const int SchemaVersion = 5;

    private const string EntryColumns =
        "seq, ts, ts_offset, kind, customer_id, credit_type, block_id, amount, scale, balance_before, balance_after, " +
        "subject, feature, model, session_id, request_id, idempotency_key, reservation_id, reason, block_terms, prev_hash, hash, " +
        "catalog_version, usage, budgeted, settlement";

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly PostgreSqlLedgerStoreOptions _options;
    private readonly string _schema;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private Task? _open;
    private string? _leaseInstance;
    private ILogger? _sharedLogger;
    private bool _disposed;

    /// <summary>Initializes a new instance of the <see cref="PostgreSqlLedgerStore"/> class. The schema is created or migrated by <see cref="OpenAsync"/>, or by the first operation.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public PostgreSqlLedgerStore(PostgreSqlLedgerStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _schema = options.Schema;
        _ownsDataSource = options.DataSource is null;
        _dataSource = options.DataSource ?? NpgsqlDataSource.Create(options.ConnectionString!);
    }

    /// <summary>Opens a store: creates or migrates its schema.</summary>
    /// <param name="options">The options.</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>The open store.</returns>
    /// <exception cref="LedgerUnavailableException">PostgreSQL cannot be reached.</exception>
    /// <exception cref="UsageGuardException">The schema is newer than this release understands.</exception>
    public static async Task<PostgreSqlLedgerStore> CreateAsync(PostgreSqlLedgerStoreOptions options, CancellationToken cancellationToken = default)
    {
        var store = new PostgreSqlLedgerStore(options);
        try
        {
            await store.OpenAsync(cancellationToken).ConfigureAwait(false);
            return store;
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Creates or migrates the schema, under an advisory lock so that instances starting together do not race.</summary>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>A task that completes when the schema is current.</returns>
    /// <exception cref="LedgerUnavailableException">PostgreSQL cannot be reached.</exception>
    /// <exception cref="UsageGuardException">The schema is newer than this release understands.</exception>
    public Task OpenAsync(CancellationToken cancellationToken = default) => EnsureOpenAsync(cancellationToken);

    /// <summary>Opens the schema once; a failed open is tried again by the next operation.</summary>
    private Task EnsureOpenAsync(CancellationToken cancellationToken)
    {
        Task? open = Volatile.Read(ref _open);
        if (open is { IsCompletedSuccessfully: true })
        {
            return open;
        }

        if (open is null || open.IsFaulted || open.IsCanceled)
        {
            Task fresh = MigrateAsync(cancellationToken);
            Task? seen = Interlocked.CompareExchange(ref _open, fresh, open);
            return seen == open ? fresh : seen!;
        }

        return open;
    }

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await Run(
            async () =>
            {
                await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await Execute(
                    connection,
                    transaction,
                    _options.ReadOnly
                        ? $"SELECT 1;"
                        : $"SELECT pg_advisory_xact_lock(hashtext('usageguard.schema.{_schema}')); CREATE SCHEMA IF NOT EXISTS {_schema}; CREATE TABLE IF NOT EXISTS {_schema}.ug_meta (name text PRIMARY KEY, value text NOT NULL);",
                    cancellationToken).ConfigureAwait(false);
                bool exists = true;
                if (_options.ReadOnly)
                {
                    await using NpgsqlCommand probe = new($"SELECT to_regclass('{_schema}.ug_meta') IS NOT NULL;", connection, transaction);
                    exists = (bool)(await probe.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                }

                string versionSql = exists ? $"SELECT value FROM {_schema}.ug_meta WHERE name = 'schema_version';" : "SELECT NULL::text;";
                await using (NpgsqlCommand read = new(versionSql, connection, transaction))
                {
                    object? stored = await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                    int version = stored is string text ? int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : 0;
                    if (version > SchemaVersion)
                    {
                        throw new UsageGuardException($"The PostgreSQL ledger store (schema '{_schema}') has schema version {version}, newer than this release of UsageGuard.PostgreSql understands ({SchemaVersion}). Upgrade the package on every instance; never run an older release against a newer schema.");
                    }

                    if (_options.ReadOnly && version != SchemaVersion)
                    {
                        throw new UsageGuardException(version == 0
                            ? $"There is no UsageGuard ledger in schema '{_schema}' of this database. Check the schema name and the connection string's database."
                            : $"The PostgreSQL ledger store (schema '{_schema}') has schema version {version}, older than this release reads ({SchemaVersion}); start the application on it once (it migrates the schema), then read it.");
                    }

                    if (version < 1)
                    {
                        await Execute(connection, transaction, SchemaV1(), cancellationToken).ConfigureAwait(false);
                    }

                    if (version < 2)
                    {
                        await Execute(connection, transaction, SchemaV2(), cancellationToken).ConfigureAwait(false);
                    }

                    if (version < 3)
                    {
                        await Execute(connection, transaction, SchemaV3(), cancellationToken).ConfigureAwait(false);
                    }

                    if (version < 4)
                    {
                        await Execute(connection, transaction, SchemaV4(), cancellationToken).ConfigureAwait(false);
                    }

                    if (version < 5)
                    {
                        await Execute(connection, transaction, SchemaV5(), cancellationToken).ConfigureAwait(false);
                    }
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return true;
            },
            "opening the store").ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The store was opened <see cref="PostgreSqlLedgerStoreOptions.ReadOnly"/>.</exception>
    public async ValueTask AppendAsync(LedgerBatch batch, CancellationToken cancellationToken = default)
    {
        ThrowIfReadOnly();
        cancellationToken.ThrowIfCancellationRequested();
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            await EnsureOpenAsync(cancellationToken).ConfigureAwait(false);
            await Run(() => AppendCoreAsync(batch, cancellationToken), "appending a batch").ConfigureAwait(false);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private async Task<bool> AppendCoreAsync(LedgerBatch batch, CancellationToken cancellationToken)
    {
        // Read in place: the batch's memory stays valid until this call completes.
        ReadOnlyMemory<LedgerEntry> entries = batch.Entries;
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // The same lock as sequenced appends: a pre-sequenced batch and a sequenced one never interleave.
        await LockAppendsAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        long last;
        await using (NpgsqlCommand head = new($"SELECT coalesce(max(seq), 0) FROM {_schema}.ug_entries;", connection, transaction))
        {
            last = (long)(await head.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        int stored = 0;
        if (entries.Length > 0 && entries.Span[0].Sequence <= last)
        {
            // A batch sent again after a commit whose outcome was lost: the entries already stored must be the same ones.
            stored = (int)Math.Min(entries.Length, last - entries.Span[0].Sequence + 1);
            await using NpgsqlCommand existing = new($"SELECT seq, hash FROM {_schema}.ug_entries WHERE seq BETWEEN $1 AND $2 ORDER BY seq;", connection, transaction);
            existing.Parameters.Add(new NpgsqlParameter<long> { TypedValue = entries.Span[0].Sequence });
            existing.Parameters.Add(new NpgsqlParameter<long> { TypedValue = entries.Span[stored - 1].Sequence });
            var hashes = new Dictionary<long, byte[]>();
            await using (NpgsqlDataReader reader = await existing.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    hashes[reader.GetInt64(0)] = (byte[])reader.GetValue(1);
                }
            }

            for (int i = 0; i < stored; i++)
            {
                if (entries.Span[i].Sequence < 1 || !hashes.TryGetValue(entries.Span[i].Sequence, out byte[]? hash) || LedgerHash.FromBytes(hash) != entries.Span[i].Hash)
                {
                    throw new LedgerCorruptedException($"The PostgreSQL ledger store (schema '{_schema}') already holds a different entry {entries.Span[i].Sequence}: another writer, or a replaced store. Nothing of this batch was appended.");
                }
            }
        }

        long expected = stored == 0 ? last : entries.Span[stored - 1].Sequence;
        for (int i = stored; i < entries.Length; i++)
        {
            if (entries.Span[i].Sequence != ++expected)
            {
                throw new InvalidOperationException($"Ledger entries must be appended in sequence without gaps: expected {expected}, got {entries.Span[i].Sequence}. Nothing of this batch was appended.");
            }
        }

        if (stored < entries.Length)
        {
            await CopyEntriesAsync(connection, entries[stored..], cancellationToken).ConfigureAwait(false);
        }

        await UpsertRecordsAsync(connection, transaction, batch.IdempotencyRecords, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Stores idempotency records in the batch's transaction: a key commits with its effect, or not at all.</summary>
    /// <remarks>
    /// With many instances the key was claimed by this instance before its operation ran (<see cref="ISharedLedgerStore.ClaimKeyAsync"/>): the record
    /// completes that claim. It never overwrites a key another instance took over after this one's claim expired (an instance paused
    /// past the claim's life): the entries still commit (nothing acknowledged is dropped), the first outcome stays, and the store
    /// returns how many records it could not complete.
    /// </remarks>
    private async Task<int> UpsertRecordsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<IdempotencyRecord> records, CancellationToken cancellationToken)
    {
        if (records.Count == 0)
        {
            return 0;
        }

        string? owner = _options.ManyInstances ? _leaseInstance : null;
        await using var upserts = new NpgsqlBatch(connection, transaction);
        foreach (IdempotencyRecord record in records)
        {
            var command = new NpgsqlBatchCommand($"INSERT INTO {_schema}.ug_idempotency (customer_id, key, fingerprint, created_at, outcome, owner) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (customer_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, created_at = excluded.created_at, outcome = excluded.outcome, claim_expires = NULL WHERE {_schema}.ug_idempotency.owner IS NOT DISTINCT FROM excluded.owner;");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = record.CustomerId });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = record.Key });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = record.Fingerprint });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = record.CreatedAt.UtcTicks });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = record.Outcome });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)owner ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            upserts.BatchCommands.Add(command);
        }

        return records.Count - await upserts.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task CopyEntriesAsync(NpgsqlConnection connection, ReadOnlyMemory<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        await using NpgsqlBinaryImporter copy = await connection.BeginBinaryImportAsync($"COPY {_schema}.ug_entries ({EntryColumns}) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
        for (int i = 0; i < entries.Length; i++)
        {
            LedgerEntry e = entries.Span[i];
            await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(e.Sequence, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(e.Timestamp.UtcTicks, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync((short)e.Timestamp.Offset.TotalMinutes, NpgsqlDbType.Smallint, cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync((short)e.Kind, NpgsqlDbType.Smallint, cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(e.CustomerId, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(e.CreditType, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await WriteNullable(copy, e.BlockId, NpgsqlDbType.Uuid, cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(e.Amount.Units, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync((short)e.Amount.Scale, NpgsqlDbType.Smallint, cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(e.BalanceBefore.Units, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(e.BalanceAfter.Units, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await WriteText(copy, e.Subject, cancellationToken).ConfigureAwait(false);
            await WriteText(copy, e.Feature, cancellationToken).ConfigureAwait(false);
            await WriteText(copy, e.Model, cancellationToken).ConfigureAwait(false);
            await WriteText(copy, e.SessionId, cancellationToken).ConfigureAwait(false);
            await WriteText(copy, e.RequestId, cancellationToken).ConfigureAwait(false);
            await WriteText(copy, e.IdempotencyKey, cancellationToken).ConfigureAwait(false);
            await WriteNullable(copy, e.ReservationId, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await WriteText(copy, e.Reason, cancellationToken).ConfigureAwait(false);
            await WriteText(copy, e.Block is { } terms ? StoreCodec.EncodeBlock(terms) : null, cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(Bytes(e.PreviousHash), NpgsqlDbType.Bytea, cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(Bytes(e.Hash), NpgsqlDbType.Bytea, cancellationToken).ConfigureAwait(false);
            await WriteText(copy, e.CatalogVersion, cancellationToken).ConfigureAwait(false);
            await WriteText(copy, e.Usage is { } usage ? StoreCodec.EncodeUsage(usage) : null, cancellationToken).ConfigureAwait(false);
            await WriteText(copy, e.Budgeted is { } budgeted ? StoreCodec.EncodeBudgeted(budgeted) : null, cancellationToken).ConfigureAwait(false);
            await WriteText(copy, e.Settlement is { } settled ? StoreCodec.EncodeSettlement(settled) : null, cancellationToken).ConfigureAwait(false);
        }

        await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<LedgerEntry> ReadAsync(long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await EnsureOpenAsync(cancellationToken).ConfigureAwait(false);
        NpgsqlConnection connection = await Run(() => _dataSource.OpenConnectionAsync(cancellationToken).AsTask(), "reading entries").ConfigureAwait(false);
        try
        {
            await using NpgsqlCommand command = new($"SELECT {EntryColumns} FROM {_schema}.ug_entries WHERE seq > $1 ORDER BY seq;", connection);
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterSequence });
            NpgsqlDataReader reader = await Run(() => command.ExecuteReaderAsync(cancellationToken), "reading entries").ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                // One delegate for the whole read, not one per row: start-up replays every entry through here.
                Func<Task<bool>> next = () => reader.ReadAsync(cancellationToken);
                while (await Run(next, "reading entries").ConfigureAwait(false))
                {
                    yield return ReadEntry(reader);
                }
            }
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<LedgerEntry>> QueryAsync(LedgerQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await EnsureOpenAsync(cancellationToken).ConfigureAwait(false);
        return await Run(
            async () =>
            {
                await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using NpgsqlCommand command = connection.CreateCommand();
                var sql = new StringBuilder($"SELECT {EntryColumns} FROM {_schema}.ug_entries WHERE customer_id = $1 AND seq > $2");
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = query.CustomerId });
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = query.AfterSequence });
                Filter(sql, command, "credit_type", query.CreditType);
                Filter(sql, command, "subject", query.Subject);
                Filter(sql, command, "feature", query.Feature);
                Filter(sql, command, "model", query.Model);
                Filter(sql, command, "session_id", query.SessionId);
                if (query.Kind is LedgerEntryKind kind)
                {
                    command.Parameters.Add(new NpgsqlParameter<short> { TypedValue = (short)kind });
                    sql.Append(" AND kind = $").Append(command.Parameters.Count);
                }

                if (query.From is DateTimeOffset from)
                {
                    command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = from.UtcTicks });
                    sql.Append(" AND ts >= $").Append(command.Parameters.Count);
                }

                if (query.To is DateTimeOffset to)
                {
                    command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = to.UtcTicks });
                    sql.Append(" AND ts < $").Append(command.Parameters.Count);
                }

                command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = query.Limit });
                sql.Append(" ORDER BY seq LIMIT $").Append(command.Parameters.Count).Append(';');
                command.CommandText = sql.ToString();
                var page = new List<LedgerEntry>(Math.Min(query.Limit, 1024));
                await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    page.Add(ReadEntry(reader));
                }

                return (IReadOnlyList<LedgerEntry>)page;
            },
            "querying entries").ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The store was opened <see cref="PostgreSqlLedgerStoreOptions.ReadOnly"/>.</exception>
    public async ValueTask SaveSnapshotAsync(LedgerSnapshot snapshot, CancellationToken cancellationToken = default)
    {
        ThrowIfReadOnly();
        ArgumentNullException.ThrowIfNull(snapshot);
        byte[] payload = StoreCodec.EncodeSnapshot(snapshot);
        await EnsureOpenAsync(cancellationToken).ConfigureAwait(false);
        await Run(
            async () =>
            {
                await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (NpgsqlCommand save = new($"INSERT INTO {_schema}.ug_snapshots (seq, payload, checksum) VALUES ($1, $2, $3) ON CONFLICT (seq) DO UPDATE SET payload = excluded.payload, checksum = excluded.checksum;", connection, transaction))
                {
                    save.Parameters.Add(new NpgsqlParameter<long> { TypedValue = snapshot.Sequence });
                    save.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = payload });
                    save.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = StoreCodec.Checksum(payload) });
                    await save.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await using (NpgsqlCommand trim = new($"DELETE FROM {_schema}.ug_snapshots WHERE seq NOT IN (SELECT seq FROM {_schema}.ug_snapshots ORDER BY seq DESC LIMIT $1);", connection, transaction))
                {
                    trim.Parameters.Add(new NpgsqlParameter<int> { TypedValue = _options.SnapshotsToKeep });
                    await trim.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return true;
            },
            "saving a snapshot").ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="LedgerCorruptedException">The newest snapshot fails its checksum, or does not match the stored entry it claims to end at.</exception>
    public async ValueTask<LedgerSnapshot?> LoadLatestSnapshotAsync(CancellationToken cancellationToken = default)
    {
        await EnsureOpenAsync(cancellationToken).ConfigureAwait(false);
        (long Sequence, byte[] Payload, byte[] Checksum, byte[]? Hash)? row = await Run(
            async () =>
            {
                await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using NpgsqlCommand command = new($"SELECT s.seq, s.payload, s.checksum, e.hash FROM {_schema}.ug_snapshots s LEFT JOIN {_schema}.ug_entries e ON e.seq = s.seq ORDER BY s.seq DESC LIMIT 1;", connection);
                await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                    ? ((long, byte[], byte[], byte[]?)?)(reader.GetInt64(0), (byte[])reader.GetValue(1), (byte[])reader.GetValue(2), reader.IsDBNull(3) ? null : (byte[])reader.GetValue(3))
                    : null;
            },
            "loading the snapshot").ConfigureAwait(false);
        if (row is not { } found)
        {
            return null;
        }

        if (!StoreCodec.Checksum(found.Payload).AsSpan().SequenceEqual(found.Checksum))
        {
            throw new LedgerCorruptedException($"The PostgreSQL ledger store (schema '{_schema}') holds a damaged snapshot at entry {found.Sequence} (its checksum does not match). Refusing to start rather than serve wrong balances; restore the store from a backup.");
        }

        LedgerSnapshot snapshot = StoreCodec.DecodeSnapshot(found.Payload);
        if (snapshot.Sequence > 0 && (found.Hash is null || LedgerHash.FromBytes(found.Hash) != snapshot.LastHash))
        {
            throw new LedgerCorruptedException($"The PostgreSQL ledger store (schema '{_schema}') has a snapshot at entry {found.Sequence} that does not match the stored entries (the entry is missing or differs). Refusing to start rather than serve wrong balances; restore the store from a backup.");
        }

        return snapshot;
    }

    /// <inheritdoc />
    public async ValueTask<IdempotencyRecord?> FindIdempotencyRecordAsync(string customerId, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(customerId);
        ArgumentNullException.ThrowIfNull(key);
        await EnsureOpenAsync(cancellationToken).ConfigureAwait(false);
        return await Run(
            async () =>
            {
                await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using NpgsqlCommand command = new($"SELECT customer_id, key, fingerprint, created_at, outcome FROM {_schema}.ug_idempotency WHERE customer_id = $1 AND key = $2 AND outcome IS NOT NULL;", connection);
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = customerId });
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
                await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadRecord(reader) : null;
            },
            "finding an idempotency key").ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<IdempotencyRecord> ReadIdempotencyRecordsAsync(DateTimeOffset createdSince, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await EnsureOpenAsync(cancellationToken).ConfigureAwait(false);
        NpgsqlConnection connection = await Run(() => _dataSource.OpenConnectionAsync(cancellationToken).AsTask(), "reading idempotency keys").ConfigureAwait(false);
        try
        {
            await using NpgsqlCommand command = new($"SELECT customer_id, key, fingerprint, created_at, outcome FROM {_schema}.ug_idempotency WHERE created_at >= $1 AND outcome IS NOT NULL ORDER BY created_at;", connection);
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = createdSince.UtcTicks });
            NpgsqlDataReader reader = await Run(() => command.ExecuteReaderAsync(cancellationToken), "reading idempotency keys").ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                // One delegate for the whole read, not one per row: start-up replays every entry through here.
                Func<Task<bool>> next = () => reader.ReadAsync(cancellationToken);
                while (await Run(next, "reading idempotency keys").ConfigureAwait(false))
                {
                    yield return ReadRecord(reader);
                }
            }
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The store was opened <see cref="PostgreSqlLedgerStoreOptions.ReadOnly"/>.</exception>
    public async ValueTask PruneIdempotencyRecordsAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default)
    {
        ThrowIfReadOnly();
        await EnsureOpenAsync(cancellationToken).ConfigureAwait(false);
        await Run(
            async () =>
            {
                await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using NpgsqlCommand command = new($"DELETE FROM {_schema}.ug_idempotency WHERE created_at < $1;", connection);
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = createdBefore.UtcTicks });
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                return true;
            },
            "pruning idempotency keys").ConfigureAwait(false);
    }

    /// <summary>Closes the store; a data source it created is disposed, one it was given is left to its owner.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Closes the store; a data source it created is disposed, one it was given is left to its owner.</summary>
    /// <returns>A task that completes when the store is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }

        _writeGate.Dispose();
    }

    private string SchemaV1() => $"""
        CREATE TABLE {_schema}.ug_entries (
            seq bigint PRIMARY KEY,
            ts bigint NOT NULL,
            ts_offset smallint NOT NULL,
            kind smallint NOT NULL,
            customer_id text NOT NULL,
            credit_type text NOT NULL,
            block_id uuid,
            amount bigint NOT NULL,
            scale smallint NOT NULL,
            balance_before bigint NOT NULL,
            balance_after bigint NOT NULL,
            subject text,
            feature text,
            model text,
            session_id text,
            request_id text,
            idempotency_key text,
            reservation_id bigint,
            reason text,
            block_terms text,
            prev_hash bytea NOT NULL,
            hash bytea NOT NULL,
            catalog_version text,
            usage text,
            budgeted text);
        CREATE INDEX ug_entries_customer ON {_schema}.ug_entries (customer_id, seq);
        CREATE TABLE {_schema}.ug_idempotency (
            customer_id text NOT NULL,
            key text NOT NULL,
            fingerprint text NOT NULL,
            created_at bigint NOT NULL,
            outcome text NOT NULL,
            PRIMARY KEY (customer_id, key));
        CREATE INDEX ug_idempotency_created ON {_schema}.ug_idempotency (created_at);
        CREATE TABLE {_schema}.ug_snapshots (
            seq bigint PRIMARY KEY,
            payload bytea NOT NULL,
            checksum bytea NOT NULL);
        INSERT INTO {_schema}.ug_meta (name, value) VALUES ('schema_version', '1'), ('database_id', '{Guid.NewGuid():N}');
        """;

    /// <summary>Version 2: many instances. Batch ids (a re-sent unsequenced batch applies once), pools and leases.</summary>
    /// <remarks>The pool tables are created only when missing: they match <see cref="PoolLeases.EnsureSchemaAsync"/>.</remarks>
    private string SchemaV2() => $"""
        CREATE TABLE {_schema}.ug_batches (
            batch_id uuid PRIMARY KEY,
            first_seq bigint NOT NULL,
            entry_count integer NOT NULL);
        {PoolLeases.Tables(_schema)}
        UPDATE {_schema}.ug_meta SET value = '2' WHERE name = 'schema_version';
        """;

    /// <summary>
    /// Version 3: idempotency keys shared by many instances. A key is claimed (owner, claim expiry, no outcome yet) before its operation
    /// runs on one instance, and its outcome commits with the operation's entries.
    /// </summary>
    private string SchemaV3() => $"""
        ALTER TABLE {_schema}.ug_idempotency ALTER COLUMN outcome DROP NOT NULL, ADD COLUMN owner text, ADD COLUMN claim_expires bigint;
        UPDATE {_schema}.ug_meta SET value = '3' WHERE name = 'schema_version';
        """;

    /// <summary>Version 4: the change feed every instance follows (admin changes to governance), announced with <c>NOTIFY</c>.</summary>
    private string SchemaV4() => $"""
        {ChangeFeed.Table(_schema)}
        UPDATE {_schema}.ug_meta SET value = '4' WHERE name = 'schema_version';
        """;

    /// <summary>Version 5: what a settlement charged and for what (its usage event; JSON), on its last entry; the daily spend rollup.</summary>
    private string SchemaV5() => $"""
        ALTER TABLE {_schema}.ug_entries ADD COLUMN settlement text;
        {SpendSchema()}
        UPDATE {_schema}.ug_meta SET value = '5' WHERE name = 'schema_version';
        """;

    private void ThrowIfReadOnly()
    {
        if (_options.ReadOnly)
        {
            throw new NotSupportedException($"The PostgreSQL ledger store (schema '{_schema}') was opened read-only; open it without ReadOnly to write.");
        }
    }

    private LedgerEntry ReadEntry(NpgsqlDataReader r)
    {
        try
        {
            int scale = r.GetInt16(8);
            return new LedgerEntry
            {
                Sequence = r.GetInt64(0),
                Timestamp = new DateTimeOffset(r.GetInt64(1), TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(r.GetInt16(2))),
                Kind = (LedgerEntryKind)r.GetInt16(3),
                CustomerId = r.GetString(4),
                CreditType = r.GetString(5),
                BlockId = r.IsDBNull(6) ? null : r.GetGuid(6),
                Amount = CreditAmount.FromUnits(r.GetInt64(7), scale),
                BalanceBefore = CreditAmount.FromUnits(r.GetInt64(9), scale),
                BalanceAfter = CreditAmount.FromUnits(r.GetInt64(10), scale),
                Subject = Text(r, 11),
                Feature = Text(r, 12),
                Model = Text(r, 13),
                SessionId = Text(r, 14),
                RequestId = Text(r, 15),
                IdempotencyKey = Text(r, 16),
                ReservationId = r.IsDBNull(17) ? null : r.GetInt64(17),
                Reason = Text(r, 18),
                Block = r.IsDBNull(19) ? null : StoreCodec.DecodeBlock(r.GetString(19)),
                PreviousHash = LedgerHash.FromBytes((byte[])r.GetValue(20)),
                Hash = LedgerHash.FromBytes((byte[])r.GetValue(21)),
                CatalogVersion = Text(r, 22),
                Usage = r.IsDBNull(23) ? null : StoreCodec.DecodeUsage(r.GetString(23)),
                Budgeted = r.IsDBNull(24) ? null : StoreCodec.DecodeBudgeted(r.GetString(24)),
                Settlement = r.IsDBNull(25) ? null : StoreCodec.DecodeSettlement(r.GetString(25)),
            };
        }
        catch (Exception ex) when (ex is InvalidCastException or ArgumentException or FormatException or OverflowException or System.Text.Json.JsonException)
        {
            throw new LedgerCorruptedException($"The PostgreSQL ledger store (schema '{_schema}') holds an entry that cannot be read back ({ex.Message}); it is damaged. Restore it from a backup.", ex);
        }
    }

    private static IdempotencyRecord ReadRecord(NpgsqlDataReader r) => new()
    {
        CustomerId = r.GetString(0),
        Key = r.GetString(1),
        Fingerprint = r.GetString(2),
        CreatedAt = new DateTimeOffset(r.GetInt64(3), TimeSpan.Zero),
        Outcome = r.GetString(4),
    };

    private static string? Text(NpgsqlDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);

    private static byte[] Bytes(LedgerHash hash)
    {
        byte[] bytes = new byte[LedgerHash.Size];
        hash.CopyTo(bytes);
        return bytes;
    }

    private static Task WriteText(NpgsqlBinaryImporter copy, string? value, CancellationToken cancellationToken) =>
        value is null ? copy.WriteNullAsync(cancellationToken) : copy.WriteAsync(value, NpgsqlDbType.Text, cancellationToken);

    private static Task WriteNullable<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type, CancellationToken cancellationToken)
        where T : struct =>
        value is { } v ? copy.WriteAsync(v, type, cancellationToken) : copy.WriteNullAsync(cancellationToken);

    private static void Filter(StringBuilder sql, NpgsqlCommand command, string column, string? value)
    {
        if (value is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = value });
            sql.Append(" AND ").Append(column).Append(" = $").Append(command.Parameters.Count);
        }
    }

    private static async Task Execute(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs a store operation, turning a server that cannot be reached (or a dropped connection) into <see cref="LedgerUnavailableException"/>.</summary>
    /// <summary>The same for the synchronous calls of admin changes.</summary>
    private T RunSync<T>(Func<T> operation, string action)
    {
        try
        {
            return operation();
        }
        catch (NpgsqlException ex) when (Translate(ex, action) is { } translated)
        {
            throw translated;
        }
    }

    private async Task<T> Run<T>(Func<Task<T>> operation, string action)
    {
        try
        {
            return await operation().ConfigureAwait(false);
        }
        catch (NpgsqlException ex) when (Translate(ex, action) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>The engine's exception for a PostgreSQL failure while <paramref name="action"/>, or null for one it does not translate.</summary>
    private UsageGuardException? Translate(NpgsqlException ex, string action) => ex switch
    {
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } pg =>
            new LedgerCorruptedException($"The PostgreSQL ledger store (schema '{_schema}') refused {action}: {pg.MessageText}. Another writer appends to this ledger; nothing of the batch was applied.", pg),
        PostgresException { SqlState: PostgresErrorCodes.DiskFull or PostgresErrorCodes.ReadOnlySqlTransaction or PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.TooManyConnections } pg =>
            new LedgerUnavailableException($"The PostgreSQL ledger store (schema '{_schema}') cannot take writes while {action}: {pg.MessageText}.", pg),
        not PostgresException when ex.IsTransient || ex.InnerException is SocketException or IOException or TimeoutException =>
            new LedgerUnavailableException($"The PostgreSQL ledger store (schema '{_schema}') cannot be reached while {action}: {ex.Message}.", ex),
        _ => null,
    };
}
