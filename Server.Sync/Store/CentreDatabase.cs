using System.Globalization;
using Kezekshi.Server.Sync.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Kezekshi.Server.Sync.Store;

/// <summary>The centre database could not be reached, migrated or written. The message says what to do.</summary>
public sealed class CentreStoreException : Exception
{
    public CentreStoreException() { }
    public CentreStoreException(string message) : base(message) { }
    public CentreStoreException(string message, Exception inner) : base(message, inner) { }
    public CentreStoreException(string message, bool isTransient, Exception? inner = null) : base(message, inner) => IsTransient = isTransient;

    /// <summary>True when the same operation may succeed later (server restarting, connection lost).</summary>
    public bool IsTransient { get; }
}

/// <summary>One school's sync state as the dashboard and <c>GET /api/schools/{id}/status</c> show it.</summary>
/// <param name="Epoch">The epoch last heard from (null when the school never sent a batch).</param>
/// <param name="Lag">Highest seq received in that epoch minus the watermark: events received but not yet contiguous.</param>
public sealed record SchoolStatus(string School, string Region, string Name, DateTimeOffset? LastSeen, Guid? Epoch,
    long Watermark, long MaxSeqSeen, long Lag, long DownlinkAckedVersion, long DeadLetters);

/// <summary>
/// The centre's PostgreSQL database: an <see cref="NpgsqlDataSource"/> (connection pool), versioned
/// migrations, the school registry, and the translation of PostgreSQL failures into messages operators can act on.
/// </summary>
/// <remarks>
/// Every write the sync protocol makes is idempotent (docs/sync-protocol.md §1), so a transaction that failed
/// because the server restarted is simply run again (<see cref="RunAsync{T}"/>); the pool opens new connections.
/// </remarks>
public sealed class CentreDatabase : IAsyncDisposable
{
    private const long MigrationLockKey = 0x4B5A_0001; // "KZ" + 1: one migrator at a time across workers

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _where;

    private readonly ILogger _logger;

    private CentreDatabase(NpgsqlDataSource dataSource, ILogger? logger)
    {
        _dataSource = dataSource;
        _logger = logger ?? NullLogger.Instance;
        var builder = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        _where = $"{builder.Host}:{builder.Port}/{builder.Database}";
    }

    /// <summary>Attempts a transient failure is retried before <see cref="CentreStoreException"/> is thrown.</summary>
    public int MaxAttempts { get; init; } = 8;

    /// <summary>Creates the pool for <paramref name="connectionString"/> and migrates the schema to the latest version.</summary>
    public static async Task<CentreDatabase> OpenAsync(string connectionString, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        var database = Create(connectionString, logger);
        try
        {
            await database.MigrateAsync(cancellationToken).ConfigureAwait(false);
            return database;
        }
        catch
        {
            await database.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Creates the pool without touching the server; call <see cref="MigrateAsync"/> before use.</summary>
    public static CentreDatabase Create(string connectionString, ILogger? logger = null)
    {
        NpgsqlDataSource dataSource;
        try
        {
            var builder = new NpgsqlDataSourceBuilder(connectionString);
            // The ingest runs the same few statements for every message; prepared once per connection, PostgreSQL skips
            // their parse and plan (the morning peak sends thousands of one-event messages). A connection string that sets
            // Max Auto Prepare itself keeps its value.
            if (!connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase) && !connectionString.Contains("AutoPrepare", StringComparison.OrdinalIgnoreCase))
                builder.ConnectionStringBuilder.MaxAutoPrepare = 64;
            dataSource = builder.Build();
        }
        catch (ArgumentException e)
        {
            throw new CentreStoreException($"The centre connection string is invalid ({e.Message}): fix ConnectionStrings:Centre, e.g. Host=127.0.0.1;Port=5432;Username=kezekshi;Database=kezekshi_sync", isTransient: false, e);
        }
        return new CentreDatabase(dataSource, logger);
    }

    internal NpgsqlDataSource DataSource => _dataSource;

    /// <summary>The latest schema version this build knows.</summary>
    public static int LatestSchemaVersion => Migrations.All[^1].Version;

    /// <summary>The schema version of the database (0 when empty).</summary>
    public Task<int> SchemaVersionAsync(CancellationToken cancellationToken = default) =>
        RunAsync("reading the schema version of", async (connection, ct) => await CurrentVersionAsync(connection, null, ct).ConfigureAwait(false), cancellationToken);

    /// <summary>Applies every migration not yet applied, each in its own transaction. Safe to call again and from several workers.</summary>
    public Task MigrateAsync(CancellationToken cancellationToken = default) => RunAsync<bool>("migrating", async (connection, ct) =>
    {
        await ExecuteAsync(connection, null, $"SELECT pg_advisory_lock({MigrationLockKey})", ct).ConfigureAwait(false);
        try
        {
            await ExecuteAsync(connection, null,
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())", ct).ConfigureAwait(false);
            int current = await CurrentVersionAsync(connection, null, ct).ConfigureAwait(false);
            if (current > LatestSchemaVersion)
                throw new CentreStoreException($"The centre database {_where} has schema version {current}, newer than this service knows ({LatestSchemaVersion}). It was migrated by a newer Kezekshi centre: upgrade this service. Nothing was changed.", isTransient: false);
            // Every migration not recorded yet, not only those above the highest: migrations written on parallel branches
            // (e.g. 2 merged after a database already took 3) still reach every database. Each one only adds its own objects.
            var applied = new HashSet<int>();
            await using (var read = new NpgsqlCommand("SELECT version FROM schema_migrations", connection))
            await using (var reader = await read.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(ct).ConfigureAwait(false)) applied.Add(reader.GetInt32(0));
            }
            foreach (var (version, name, sql) in Migrations.All)
            {
                if (applied.Contains(version)) continue;
                await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
                await ExecuteAsync(connection, transaction, sql, ct).ConfigureAwait(false);
                await using (var record = new NpgsqlCommand("INSERT INTO schema_migrations(version, name) VALUES ($1, $2)", connection, transaction))
                {
                    record.Parameters.Add(new NpgsqlParameter { Value = version });
                    record.Parameters.Add(new NpgsqlParameter { Value = name });
                    await record.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }
                await transaction.CommitAsync(ct).ConfigureAwait(false);
            }
        }
        finally
        {
            if (connection.FullState == System.Data.ConnectionState.Open)
                await ExecuteAsync(connection, null, $"SELECT pg_advisory_unlock({MigrationLockKey})", CancellationToken.None).ConfigureAwait(false);
        }
        return true;
    }, cancellationToken);

    /// <summary>Adds a school to the registry, or updates its region and name.</summary>
    public Task RegisterSchoolAsync(string id, string region, string name, CancellationToken cancellationToken = default) =>
        RunAsync("registering a school in", async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand("""
                INSERT INTO schools(id, region, name) VALUES ($1, $2, $3)
                ON CONFLICT (id) DO UPDATE SET region = excluded.region, name = excluded.name
                """, connection);
            command.Parameters.Add(new NpgsqlParameter { Value = id });
            command.Parameters.Add(new NpgsqlParameter { Value = region });
            command.Parameters.Add(new NpgsqlParameter { Value = name });
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>The school's sync state, from its most recently active epoch; null when the school is not registered.</summary>
    public Task<SchoolStatus?> GetSchoolStatusAsync(string id, CancellationToken cancellationToken = default) =>
        RunAsync("reading a school's status from", async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT s.id, s.region, s.name, s.last_seen, st.epoch, COALESCE(st.watermark, 0), COALESCE(st.max_seq_seen, 0),
                       s.downlink_acked_version, (SELECT count(*) FROM dead_letters d WHERE d.school = s.id)
                FROM schools s
                LEFT JOIN LATERAL (SELECT * FROM school_streams x WHERE x.school = s.id ORDER BY x.updated_at DESC LIMIT 1) st ON true
                WHERE s.id = $1
                """, connection);
            command.Parameters.Add(new NpgsqlParameter { Value = id });
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            if (!await reader.ReadAsync(ct).ConfigureAwait(false)) return null;
            long watermark = reader.GetInt64(5), max = reader.GetInt64(6);
            return new SchoolStatus(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3),
                reader.IsDBNull(4) ? null : reader.GetGuid(4),
                watermark, max, Math.Max(0, max - watermark), reader.GetInt64(7), reader.GetInt64(8));
        }, cancellationToken);

    /// <summary>True when the database answers a query and has the latest schema.</summary>
    public async Task<(bool Healthy, string Detail)> CheckHealthAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            int version = await CurrentVersionAsync(connection, null, cancellationToken).ConfigureAwait(false);
            return version == LatestSchemaVersion
                ? (true, $"schema {version}")
                : (false, $"schema {version}, expected {LatestSchemaVersion}: restart the service to migrate");
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            _dataSource.Clear(); // idle connections may have died with a restarted server: the next check opens fresh ones
            return (false, Translate(e, "checking").Message);
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a pooled connection, retrying transient failures (server restart, lost
    /// connection, serialization failure, deadlock) with a growing delay; other failures become <see cref="CentreStoreException"/>.
    /// </summary>
    /// <remarks>Only for idempotent work: a failure after the server committed but before the client heard it causes a re-run.</remarks>
    internal async Task<T> RunAsync<T>(string doing, Func<NpgsqlConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                return await work(connection, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                var error = Translate(e, doing);
                if (!error.IsTransient || attempt >= MaxAttempts) throw error;
                SyncLog.DatabaseRetry(_logger, attempt, MaxAttempts, error.Message);
                // The broken connection is not returned to the pool; drop idle ones that died with the server too.
                if (e is NpgsqlException { InnerException: IOException or System.Net.Sockets.SocketException } || e is PostgresException { SqlState: "57P01" or "57P02" or "57P03" })
                    _dataSource.Clear();
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 50 * (1 << Math.Min(attempt, 6)))), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Turns an Npgsql failure into a message that says what happened and what to do.</summary>
    public CentreStoreException Translate(Exception e, string doing)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e is CentreStoreException already) return already;
        return e switch
        {
            PostgresException { SqlState: "40001" or "40P01" } p => new($"PostgreSQL aborted a transaction while {doing} {_where} ({p.SqlState}); it is retried.", isTransient: true, e),
            PostgresException { SqlState: "57P01" or "57P02" or "57P03" or "53300" } p => new($"PostgreSQL at {_where} is shutting down, starting or full of connections while {doing} it ({p.MessageText}); retrying. If this lasts, check the server (pg_lsclusters, its log) and max_connections.", isTransient: true, e),
            PostgresException { SqlState: "53100" } => new($"The disk of PostgreSQL at {_where} is full while {doing} it: free space on the database server. Nothing was committed.", isTransient: true, e),
            PostgresException { SqlState: "3D000" } => new($"The database {_where} does not exist: create it (createdb) and restart the service.", isTransient: false, e),
            PostgresException { SqlState: "28P01" or "28000" } => new($"PostgreSQL at {_where} refused the login while {doing} it: check the user and password in ConnectionStrings:Centre.", isTransient: false, e),
            PostgresException p => new(string.Create(CultureInfo.InvariantCulture, $"PostgreSQL error {p.SqlState} while {doing} {_where}: {p.MessageText}. This is a bug or a schema drift; report it with this log."), isTransient: p.IsTransient, e),
            NpgsqlException n => new($"Cannot talk to PostgreSQL at {_where} while {doing} it ({n.Message}): is the server running and reachable? Retrying when transient.", isTransient: n.IsTransient || n.InnerException is IOException or System.Net.Sockets.SocketException, e),
            TimeoutException => new($"PostgreSQL at {_where} did not answer in time while {doing} it: check the server's load and the network.", isTransient: true, e),
            _ => new($"Unexpected failure while {doing} {_where}: {e.Message}", isTransient: false, e),
        };
    }

    private static async Task<int> CurrentVersionAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT to_regclass('schema_migrations') IS NOT NULL", connection, transaction);
        if (await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is not true) return 0;
        command.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
        return Convert.ToInt32(await command.ExecuteScalarAsync(ct).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
