using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Biometrics.Storage;

/// <summary>
/// <c>biometrics.db</c>: the SQLite file that holds templates, consents, receipts, the outgoing
/// events and the audit log. Separate from the agent's edge.db so it can have its own permissions
/// (0600 on Linux) and be wiped alone.
/// </summary>
/// <remarks>
/// WAL (the gate reads while enrolment writes), <c>synchronous=FULL</c> (a revocation is on disk
/// when it returns) and <c>secure_delete=ON</c>: SQLite overwrites deleted content with zeros, so a
/// revoked template does not linger in free pages of the file.
/// </remarks>
public sealed class BiometricsDatabase
{
    /// <summary>The file name the agent uses in its data directory.</summary>
    public const string FileName = "biometrics.db";

    /// <summary>The default path, relative to the agent's data directory.</summary>
    public const string DefaultRelativePath = FileName;

    private readonly string _connectionString;

    private BiometricsDatabase(string path)
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

    /// <summary>Opens (creating if needed, owner-only on Linux) and migrates the database at <paramref name="path"/>.</summary>
    public static BiometricsDatabase Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = System.IO.Path.GetFullPath(path);
        string? directory = System.IO.Path.GetDirectoryName(full);
        if (directory is not null && !Directory.Exists(directory))
        {
            try { Directory.CreateDirectory(directory); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new BiometricsStoreException($"Cannot create the data directory {directory}: {e.Message}. Create it and give the service user write access.", e);
            }
        }
        if (!File.Exists(full) && !OperatingSystem.IsWindows())
        {
            // Create the empty file owner-only before SQLite does, so no other user can read it even for a moment.
            try
            {
                using var _ = new FileStream(full, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
            }
            catch (IOException) when (File.Exists(full))
            {
                // Another process created it first; the permission check below still applies.
            }
        }
        var database = new BiometricsDatabase(full);
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
            pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;";
            pragma.ExecuteNonQuery();
            return connection;
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new BiometricsStoreException($"Cannot open the biometrics database {Path}: {e.Message}. Check the file belongs to the service user and the disk is not full or read-only.", e);
        }
    }

    /// <summary>The schema version the file is at.</summary>
    public int SchemaVersion()
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>Reads one pragma (tests and the diagnostics page show them).</summary>
    public string Pragma(string name)
    {
        if (!name.All(c => char.IsAsciiLetter(c) || c == '_'))
            throw new ArgumentException($"Not a pragma name: {name}", nameof(name));
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA {name}";
        return Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture) ?? "";
    }

    private void Migrate()
    {
        using var connection = Connect();
        using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";
            create.ExecuteNonQuery();
        }
        foreach (var (version, name, sql) in Migrations.All)
        {
            using var transaction = connection.BeginTransaction();
            using var check = connection.CreateCommand();
            check.Transaction = transaction;
            check.CommandText = "SELECT COUNT(*) FROM schema_version WHERE version = $v";
            check.Parameters.AddWithValue("$v", version);
            if (Convert.ToInt64(check.ExecuteScalar(), CultureInfo.InvariantCulture) > 0)
                continue;
            try
            {
                using var apply = connection.CreateCommand();
                apply.Transaction = transaction;
                apply.CommandText = sql;
                apply.ExecuteNonQuery();
                using var record = connection.CreateCommand();
                record.Transaction = transaction;
                record.CommandText = "INSERT INTO schema_version (version, name, applied_at) VALUES ($v, $n, $t)";
                record.Parameters.AddWithValue("$v", version);
                record.Parameters.AddWithValue("$n", name);
                record.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
                record.ExecuteNonQuery();
                transaction.Commit();
            }
            catch (SqliteException e)
            {
                throw new BiometricsStoreException($"Migrating {Path} to version {version} ({name}) failed: {e.Message}. The file is unchanged at the previous version; restore it from backup or delete it (templates must then be re-enrolled).", e);
            }
        }
    }
}
