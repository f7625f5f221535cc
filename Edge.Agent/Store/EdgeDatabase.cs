using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Agent.Store;

/// <summary>The local store could not be opened, migrated or written. The message says what to do.</summary>
public sealed class StoreException : Exception
{
    public StoreException() { }
    public StoreException(string message) : base(message) { }
    public StoreException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// The gate PC's SQLite database: WAL mode, versioned migrations, and the translation of SQLite
/// failures into messages IT can act on.
/// </summary>
/// <remarks>
/// WAL lets the board and reports read while a gate writes. Connections default to
/// <c>synchronous=FULL</c>: a passage and its outbox event are on disk when the commit returns.
/// Nothing on the relay path writes here (see <c>ActuationJournal</c>), so the fsync never delays a gate.
/// </remarks>
public sealed class EdgeDatabase
{
    private readonly string _connectionString;

    private EdgeDatabase(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 5,
        }.ToString();
    }

    public string Path { get; }

    /// <summary>Opens (creating if needed) and migrates the database at <paramref name="path"/>.</summary>
    public static EdgeDatabase Open(string path)
    {
        string? directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (directory is not null && !Directory.Exists(directory))
        {
            try { Directory.CreateDirectory(directory); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new StoreException($"Cannot create the data directory {directory}: {e.Message}. Create it and give the service user write access (install-service does this).", e);
            }
        }
        if (File.Exists(path))
        {
            var attributes = File.GetAttributes(path);
            if ((attributes & FileAttributes.ReadOnly) != 0)
                throw new StoreException($"The database {path} is read-only. Make it writable by the service user (chmod u+w, check the disk is not mounted read-only). Nothing was changed.");
        }
        var database = new EdgeDatabase(path);
        database.Migrate();
        return database;
    }

    /// <summary>A new open connection with the store's pragmas applied.</summary>
    public SqliteConnection Connect()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;";
            pragma.ExecuteNonQuery();
            return connection;
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw Translate(e, "opening");
        }
    }

    /// <summary>The schema version of the file (0 for a new file).</summary>
    public int SchemaVersion()
    {
        using var connection = Connect();
        return CurrentVersion(connection);
    }

    private void Migrate()
    {
        using var connection = Connect();
        try
        {
            using (var create = connection.CreateCommand())
            {
                create.CommandText = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";
                create.ExecuteNonQuery();
            }
            int current = CurrentVersion(connection);
            int latest = Migrations.All[^1].Version;
            if (current > latest)
                throw new StoreException($"The database {Path} has schema version {current}, newer than this agent knows ({latest}). It was written by a newer Kezekshi Edge: upgrade the agent. Nothing was changed.");
            foreach (var (version, name, sql) in Migrations.All)
            {
                if (version <= current) continue;
                using var transaction = connection.BeginTransaction();
                using (var apply = connection.CreateCommand())
                {
                    apply.Transaction = transaction;
                    apply.CommandText = sql;
                    apply.ExecuteNonQuery();
                }
                using (var record = connection.CreateCommand())
                {
                    record.Transaction = transaction;
                    record.CommandText = "INSERT INTO schema_migrations(version, name, applied_at) VALUES ($v, $n, $t)";
                    record.Parameters.AddWithValue("$v", version);
                    record.Parameters.AddWithValue("$n", name);
                    record.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
                    record.ExecuteNonQuery();
                }
                transaction.Commit();
            }
        }
        catch (SqliteException e)
        {
            throw Translate(e, "migrating");
        }
    }

    private static int CurrentVersion(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type='table' AND name='schema_migrations'";
        if (command.ExecuteScalar() is null) return 0;
        command.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>Turns a SQLite error into a message that says what happened to the file and what to do.</summary>
    public StoreException Translate(SqliteException e, string doing)
    {
        ArgumentNullException.ThrowIfNull(e);
        string message = e.SqliteErrorCode switch
        {
            5 or 6 => $"The database {Path} is locked by another process while {doing}. Is another agent running? Find it with `fuser {Path}` and stop it.",
            8 => $"The database {Path} is read-only while {doing}: make the file and its folder writable by the service user, and check the disk is not mounted read-only.",
            10 => $"Disk I/O error on {Path} while {doing}: check the disk (dmesg) and free space. Stored data up to the last commit is safe.",
            11 or 26 => $"{Path} is damaged or is not a Kezekshi database ({e.Message}). Nothing was changed: move it aside and restore the latest backup, or let the agent create a new one.",
            13 => $"The disk holding {Path} is full while {doing}: free space (df -h). The last change was not written; nothing already stored is lost.",
            14 => $"Cannot open {Path} while {doing}: check that the folder exists and the service user may write there.",
            _ => $"SQLite error while {doing} {Path}: {e.Message}",
        };
        return new StoreException(message, e);
    }
}
