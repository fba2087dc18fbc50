using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace UsageGuard.PostgreSql;

/// <summary>
/// The store's feed of changes every instance applies (admin changes to governance, catalog documents): rows of <c>ug_changes</c>
/// in sequence order, announced with <c>NOTIFY</c> so that instances read them at once, and read again every few seconds and after
/// every reconnection, so that a notification lost with a connection delays a change and never loses it.
/// </summary>
/// <remarks>
/// Publishing takes a transaction-scoped advisory lock, so changes commit in the order of their sequence numbers: a reader that has
/// seen change <c>n</c> has seen every change before it. Admin changes are rare; the lock costs them nothing that matters.
/// </remarks>
internal sealed partial class ChangeFeed : IAsyncDisposable
{
    /// <summary>How long the listener waits for a notification before it reads the feed anyway.</summary>
    internal static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schema;
    private readonly Action<SharedChange> _apply;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _listening;
    private long _through;

    private ChangeFeed(NpgsqlDataSource dataSource, string schema, long after, Action<SharedChange> apply, ILogger logger)
    {
        _dataSource = dataSource;
        _schema = schema;
        _through = after;
        _apply = apply;
        _logger = logger;
        _listening = Task.Run(ListenAsync);
    }

    /// <summary>Gets the sequence number of the last change applied.</summary>
    internal long Through => Interlocked.Read(ref _through);

    /// <summary>The <c>NOTIFY</c> channel of a schema's feed: short and fixed, whatever the schema's length.</summary>
    internal static string Channel(string schema) =>
        "usageguard_changes_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(schema)))[..16];

    /// <summary>The feed's table, created when missing.</summary>
    internal static string Table(string schema) => $"""
        CREATE TABLE IF NOT EXISTS {schema}.ug_changes (
            seq bigint PRIMARY KEY,
            topic text NOT NULL,
            payload text NOT NULL,
            created_at bigint NOT NULL);
        """;

    /// <summary>Starts following the feed after <paramref name="after"/>.</summary>
    internal static ChangeFeed Follow(NpgsqlDataSource dataSource, string schema, long after, Action<SharedChange> apply, ILogger logger) =>
        new(dataSource, schema, after, apply, logger);

    /// <summary>Appends a change and announces it; returns its sequence number. Synchronous: admin calls are.</summary>
    internal static long Publish(NpgsqlDataSource dataSource, string schema, string topic, string payload, DateTimeOffset now)
    {
        using NpgsqlConnection connection = dataSource.OpenConnection();
        using NpgsqlTransaction transaction = connection.BeginTransaction();
        using (var command = new NpgsqlCommand($"SELECT pg_advisory_xact_lock(hashtext('usageguard.changes.{schema}'));", connection, transaction))
        {
            command.ExecuteNonQuery();
        }

        long seq;
        using (var insert = new NpgsqlCommand($"""
            INSERT INTO {schema}.ug_changes (seq, topic, payload, created_at)
            SELECT coalesce(max(seq), 0) + 1, $1, $2, $3 FROM {schema}.ug_changes
            RETURNING seq;
            """, connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = topic });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = payload });
            insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = now.UtcTicks });
            seq = (long)insert.ExecuteScalar()!;
        }

        using (var notify = new NpgsqlCommand("SELECT pg_notify($1, $2);", connection, transaction))
        {
            notify.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Channel(schema) });
            notify.Parameters.Add(new NpgsqlParameter<string> { TypedValue = seq.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            notify.ExecuteNonQuery();
        }

        transaction.Commit();
        return seq;
    }

    /// <summary>Reads the changes after <paramref name="after"/>, in order (at start-up, before the instance serves).</summary>
    internal static List<SharedChange> Read(NpgsqlConnection connection, string schema, long after)
    {
        var changes = new List<SharedChange>();
        using var read = new NpgsqlCommand($"SELECT seq, topic, payload FROM {schema}.ug_changes WHERE seq > $1 ORDER BY seq;", connection);
        read.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
        using NpgsqlDataReader reader = read.ExecuteReader();
        while (reader.Read())
        {
            changes.Add(new SharedChange(reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
        }

        return changes;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelQuietlyAsync().ConfigureAwait(false);
        try
        {
            await _listening.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task ListenAsync()
    {
        CancellationToken stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(stop).ConfigureAwait(false);
                await using (var listen = new NpgsqlCommand($"LISTEN \"{Channel(_schema)}\";", connection))
                {
                    await listen.ExecuteNonQueryAsync(stop).ConfigureAwait(false);
                }

                // A notification that arrives while the feed is being read is consumed by that read's round trip, and WaitAsync
                // waits for the next one only: it is counted here, so the change it announced is read at once, not at the next poll.
                int announced = 0;
                connection.Notification += (_, _) => Interlocked.Exchange(ref announced, 1);
                while (true)
                {
                    // Listening first, then reading: a change committed between the two is read now or announced later, never missed.
                    Interlocked.Exchange(ref announced, 0);
                    CatchUp(connection);
                    if (Interlocked.Exchange(ref announced, 0) == 0)
                    {
                        await connection.WaitAsync(PollInterval, stop).ConfigureAwait(false);
                    }
                }
            }
#pragma warning disable CA1031 // A background reader: whatever failed, it reconnects and reads again from where it stopped.
            catch (Exception ex) when (!stop.IsCancellationRequested)
#pragma warning restore CA1031
            {
                LogFeedFailed(_logger, ex);
                await Task.Delay(TimeSpan.FromSeconds(1), stop).ConfigureAwait(false);
            }
        }
    }

    private void CatchUp(NpgsqlConnection connection)
    {
        foreach (SharedChange change in Read(connection, _schema, Interlocked.Read(ref _through)))
        {
            try
            {
                _apply(change);
            }
#pragma warning disable CA1031 // One change that cannot apply here (a configuration this instance lacks) must not stop the others.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogChangeFailed(_logger, change.Sequence, change.Topic, ex);
            }

            Interlocked.Exchange(ref _through, change.Sequence);
        }
    }

    [LoggerMessage(EventId = 156, Level = LogLevel.Warning, Message = "Following the shared change feed failed; reconnecting in 1 s (changes are read again from where they stopped).")]
    private static partial void LogFeedFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 157, Level = LogLevel.Error, Message = "Change {Sequence} ({Topic}) from the shared feed could not be applied here; it is skipped.")]
    private static partial void LogChangeFailed(ILogger logger, long sequence, string topic, Exception exception);
}
