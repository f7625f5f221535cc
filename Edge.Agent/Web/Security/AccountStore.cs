using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Kezekshi.Edge.Agent.Store;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Agent.Web.Security;

/// <summary>A staff account could not be created or changed; the message says what to do.</summary>
public sealed class AccountException : Exception
{
    public AccountException() { }
    public AccountException(string message) : base(message) { }
    public AccountException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A staff account as stored (without secrets for listing).</summary>
public sealed record AccountInfo(long Id, string Name, WebRole Role, long? StaffId, bool MustChangePassword, bool Disabled, int FailedLogins, DateTimeOffset? LockedUntil, DateTimeOffset CreatedAt);

/// <summary>A signed-in browser: who, what role, and the CSRF token its state-changing requests must carry.</summary>
public sealed record WebSession(long AccountId, string Name, WebRole Role, long? StaffId, string CsrfToken, bool MustChangePassword, DateTimeOffset ExpiresAt);

/// <summary>
/// Staff accounts and sessions of the web UI in the agent's SQLite store (tables web_accounts and web_sessions,
/// migration 6). Used by the web host and by <c>kezekshi-edge users</c>.
/// </summary>
public sealed class AccountStore(EdgeDatabase database, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The PBKDF2 iteration count for new hashes (tests may lower it to the minimum; stored per hash).</summary>
    public int Iterations { get; init; } = PasswordHasher.DefaultIterations;

    /// <summary>Creates an account. Returns the account's ID.</summary>
    public long Add(string name, WebRole role, string password, bool mustChangePassword = true, long? staffId = null)
    {
        if (staffId is { } sid) CheckStaff(sid);
        name = ValidateName(name);
        var hash = PasswordHasher.Hash(password, Iterations);
        string now = Format(_time.GetUtcNow());
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO web_accounts(name, role, staff_id, password_hash, salt, iterations, must_change_password, created_at, password_set_at)
            VALUES ($name, $role, $staff, $hash, $salt, $iterations, $must, $now, $now) RETURNING id
            """;
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$role", WebRoles.Format(role));
        command.Parameters.AddWithValue("$staff", staffId is { } s ? s : DBNull.Value);
        command.Parameters.AddWithValue("$hash", hash.Hash);
        command.Parameters.AddWithValue("$salt", hash.Salt);
        command.Parameters.AddWithValue("$iterations", hash.Iterations);
        command.Parameters.AddWithValue("$must", mustChangePassword ? 1 : 0);
        command.Parameters.AddWithValue("$now", now);
        try
        {
            return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19)
        {
            throw new AccountException($"An account named '{name}' already exists. Choose another name, or reset its password with `kezekshi-edge users reset --name {name}`.", e);
        }
    }

    /// <summary>Sets a new password, unlocks the account and signs out its sessions.</summary>
    public void SetPassword(string name, string password, bool mustChangePassword)
    {
        var account = Find(name) ?? throw new AccountException($"There is no account named '{name}'. List them with `kezekshi-edge users list`.");
        SetPassword(account.Id, password, mustChangePassword);
    }

    public void SetPassword(long accountId, string password, bool mustChangePassword)
    {
        var hash = PasswordHasher.Hash(password, Iterations);
        using var connection = database.Connect();
        using var transaction = connection.BeginTransaction();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = """
                UPDATE web_accounts SET password_hash = $hash, salt = $salt, iterations = $iterations, must_change_password = $must,
                    failed_logins = 0, locked_until = NULL, password_set_at = $now WHERE id = $id
                """;
            command.Parameters.AddWithValue("$hash", hash.Hash);
            command.Parameters.AddWithValue("$salt", hash.Salt);
            command.Parameters.AddWithValue("$iterations", hash.Iterations);
            command.Parameters.AddWithValue("$must", mustChangePassword ? 1 : 0);
            command.Parameters.AddWithValue("$now", Format(_time.GetUtcNow()));
            command.Parameters.AddWithValue("$id", accountId);
            command.ExecuteNonQuery();
        }
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "DELETE FROM web_sessions WHERE account_id = $id";
            command.Parameters.AddWithValue("$id", accountId);
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    public void SetDisabled(string name, bool disabled)
    {
        var account = Find(name) ?? throw new AccountException($"There is no account named '{name}'. List them with `kezekshi-edge users list`.");
        Execute("UPDATE web_accounts SET disabled = $d WHERE id = $id", ("$d", disabled ? 1 : 0), ("$id", account.Id));
        if (disabled) Execute("DELETE FROM web_sessions WHERE account_id = $id", ("$id", account.Id));
    }

    /// <summary>Links an account to the staff member it belongs to (needed to sell, refund or lend).</summary>
    public void LinkStaff(string name, long staffId)
    {
        var account = Find(name) ?? throw new AccountException($"There is no account named '{name}'. List them with `kezekshi-edge users list`.");
        CheckStaff(staffId);
        Execute("UPDATE web_accounts SET staff_id = $s WHERE id = $id", ("$s", staffId), ("$id", account.Id));
    }

    private void CheckStaff(long staffId)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM staff WHERE id = $id AND status = 'active'";
        command.Parameters.AddWithValue("$id", staffId);
        if (Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
            throw new AccountException($"There is no active staff member with ID {staffId} in this school's roster. Check the ID in the staff list from the centre.");
    }

    public IReadOnlyList<AccountInfo> List()
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, name, role, staff_id, must_change_password, disabled, failed_logins, locked_until, created_at FROM web_accounts ORDER BY name";
        using var reader = command.ExecuteReader();
        var list = new List<AccountInfo>();
        while (reader.Read()) list.Add(ReadInfo(reader));
        return list;
    }

    public AccountInfo? Find(string name)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, name, role, staff_id, must_change_password, disabled, failed_logins, locked_until, created_at FROM web_accounts WHERE name = $name";
        command.Parameters.AddWithValue("$name", name.Trim());
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadInfo(reader) : null;
    }

    /// <summary>Checks a password (constant-time compare); null if there is no such account. Does not count failures.</summary>
    public bool? CheckPassword(long accountId, string password)
    {
        PasswordHash stored;
        using (var connection = database.Connect())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT password_hash, salt, iterations FROM web_accounts WHERE id = $id";
            command.Parameters.AddWithValue("$id", accountId);
            using var reader = command.ExecuteReader();
            if (!reader.Read()) return null;
            stored = new PasswordHash((byte[])reader.GetValue(0), (byte[])reader.GetValue(1), reader.GetInt32(2));
        }
        return PasswordHasher.Verify(password, stored);
    }

    /// <summary>Counts a wrong password; locks the account for <paramref name="lockout"/> at <paramref name="maxFailures"/>. Returns the lock end, if locked now.</summary>
    public DateTimeOffset? RecordFailure(long accountId, int maxFailures, TimeSpan lockout)
    {
        var now = _time.GetUtcNow();
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE web_accounts SET failed_logins = failed_logins + 1,
                locked_until = CASE WHEN failed_logins + 1 >= $max THEN $until ELSE locked_until END
            WHERE id = $id RETURNING failed_logins, locked_until
            """;
        command.Parameters.AddWithValue("$max", maxFailures);
        command.Parameters.AddWithValue("$until", Format(now + lockout));
        command.Parameters.AddWithValue("$id", accountId);
        using var reader = command.ExecuteReader();
        if (!reader.Read() || reader.IsDBNull(1)) return null;
        var until = Parse(reader.GetString(1));
        return until > now ? until : null;
    }

    /// <summary>A successful sign-in clears the failure count.</summary>
    public void RecordSuccess(long accountId) =>
        Execute("UPDATE web_accounts SET failed_logins = 0, locked_until = NULL WHERE id = $id", ("$id", accountId));

    /// <summary>Starts a session; returns the cookie value (only its hash is stored).</summary>
    public (string Token, WebSession Session) CreateSession(AccountInfo account, TimeSpan lifetime, string? remoteAddress)
    {
        ArgumentNullException.ThrowIfNull(account);
        string token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        string csrf = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        var now = _time.GetUtcNow();
        var expires = now + lifetime;
        Execute("INSERT INTO web_sessions(token_hash, account_id, csrf_token, created_at, expires_at, remote_address) VALUES ($h, $a, $c, $now, $exp, $ip)",
            ("$h", TokenHash(token)), ("$a", account.Id), ("$c", csrf), ("$now", Format(now)), ("$exp", Format(expires)), ("$ip", remoteAddress));
        return (token, new WebSession(account.Id, account.Name, account.Role, account.StaffId, csrf, account.MustChangePassword, expires));
    }

    /// <summary>The live session for a cookie value, or null (unknown, expired, account disabled).</summary>
    public WebSession? FindSession(string token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 100) return null;
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT a.id, a.name, a.role, s.csrf_token, a.must_change_password, s.expires_at, a.staff_id
            FROM web_sessions s JOIN web_accounts a ON a.id = s.account_id
            WHERE s.token_hash = $h AND a.disabled = 0
            """;
        command.Parameters.AddWithValue("$h", TokenHash(token));
        using var reader = command.ExecuteReader();
        if (!reader.Read()) return null;
        var expires = Parse(reader.GetString(5));
        if (expires <= _time.GetUtcNow()) return null;
        WebRoles.TryParse(reader.GetString(2), out var role);
        return new WebSession(reader.GetInt64(0), reader.GetString(1), role, reader.IsDBNull(6) ? null : reader.GetInt64(6), reader.GetString(3), reader.GetInt64(4) != 0, expires);
    }

    public void EndSession(string token) => Execute("DELETE FROM web_sessions WHERE token_hash = $h", ("$h", TokenHash(token)));

    /// <summary>Removes expired sessions (called now and then by the host).</summary>
    public int PruneSessions()
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM web_sessions WHERE expires_at <= $now";
        command.Parameters.AddWithValue("$now", Format(_time.GetUtcNow()));
        return command.ExecuteNonQuery();
    }

    private static string ValidateName(string name)
    {
        name = (name ?? "").Trim();
        if (name.Length is < 2 or > 40 || !name.All(c => char.IsLetterOrDigit(c) || c is '.' or '-' or '_'))
            throw new AccountException($"'{name}' is not a usable account name: use 2–40 letters, digits, '.', '-' or '_' (e.g. aigerim.k).");
        return name;
    }

    private static byte[] TokenHash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private void Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (n, v) in parameters) command.Parameters.AddWithValue(n, v ?? DBNull.Value);
        command.ExecuteNonQuery();
    }

    private static AccountInfo ReadInfo(SqliteDataReader reader)
    {
        WebRoles.TryParse(reader.GetString(2), out var role);
        return new AccountInfo(reader.GetInt64(0), reader.GetString(1), role, reader.IsDBNull(3) ? null : reader.GetInt64(3), reader.GetInt64(4) != 0, reader.GetInt64(5) != 0, reader.GetInt32(6),
            reader.IsDBNull(7) ? null : Parse(reader.GetString(7)), Parse(reader.GetString(8)));
    }

    private static string Format(DateTimeOffset at) => at.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(string at) => DateTimeOffset.Parse(at, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
