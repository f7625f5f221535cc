using System.Security.Cryptography;
using Kezekshi.Server.Sync.Store;
using Npgsql;

namespace Kezekshi.Server.Sync.Domain;

/// <summary>
/// A school's staff at the centre, sent to the school as <c>staff.upsert</c> / <c>staff.leave</c> (docs/sync-protocol.md
/// §5.1): the school gets the display name and role, never the full name. Staff cards are issued like pupils' (PUT /api/cards/{number}
/// with holderKind staff).
/// </summary>
public sealed class StaffRoster(CentreDatabase database)
{
    /// <summary>Roles the gate's schedules know (the edge's <c>staff.role</c>).</summary>
    public static readonly IReadOnlyList<string> Roles = ["teacher", "guard", "canteen", "office", "it", "service"];

    private const string Columns = "id, school, full_name, display_name, role, status";

    /// <summary>Adds a staff member to a school and sends <c>staff.upsert</c>.</summary>
    public Task<StaffView> AddAsync(string? school, StaffRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string id = Check.School(school);
        string fullName = Check.Text(request.FullName, "fullName", 200);
        string display = Check.OptionalText(request.DisplayName, "displayName", 100) ?? Roster.DisplayNameOf(fullName);
        string role = RoleOf(request.Role);
        return database.InTransactionAsync("adding a staff member to", async (connection, transaction, ct) =>
        {
            await Roster.RequireSchoolAsync(connection, transaction, id, ct).ConfigureAwait(false);
            long staffId = NewStaffId();
            await using (var insert = Sql.Command(connection, transaction,
                "INSERT INTO staff(id, school, full_name, display_name, role) VALUES ($1, $2, $3, $4, $5)", staffId, id, fullName, display, role))
                await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await ChangeFeed.AppendAsync(connection, transaction, id, ChangeKinds.StaffUpsert, new StaffData(staffId, display, role, "active"),
                DownlinkJsonContext.Default.StaffData, ct).ConfigureAwait(false);
            return new StaffView(staffId, id, fullName, display, role, "active");
        }, cancellationToken);
    }

    /// <summary>Changes a staff member's names or role and sends <c>staff.upsert</c> (nothing when nothing changed).</summary>
    public Task<StaffView> UpdateAsync(long staffId, StaffRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return database.InTransactionAsync("changing a staff member in", async (connection, transaction, ct) =>
        {
            var before = await RequireAsync(connection, transaction, staffId, ct).ConfigureAwait(false);
            if (before.Status == "left") throw new CentreRequestException(RequestProblem.Conflict, "staffId", $"Staff member {staffId} has left; add them again as new staff.");
            string fullName = Check.OptionalText(request.FullName, "fullName", 200) ?? before.FullName;
            string display = Check.OptionalText(request.DisplayName, "displayName", 100) ?? (fullName != before.FullName ? Roster.DisplayNameOf(fullName) : before.DisplayName);
            string role = request.Role is null ? before.Role : RoleOf(request.Role);
            var after = before with { FullName = fullName, DisplayName = display, Role = role };
            if (after == before) return before;
            await using (var update = Sql.Command(connection, transaction,
                "UPDATE staff SET full_name = $2, display_name = $3, role = $4, updated_at = now() WHERE id = $1", staffId, fullName, display, role))
                await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await ChangeFeed.AppendAsync(connection, transaction, before.School, ChangeKinds.StaffUpsert, new StaffData(staffId, display, role, "active"),
                DownlinkJsonContext.Default.StaffData, ct).ConfigureAwait(false);
            return after;
        }, cancellationToken);
    }

    /// <summary>Marks a staff member as left and sends <c>staff.leave</c> (the school blocks their cards). Idempotent.</summary>
    public Task<StaffView> LeaveAsync(long staffId, CancellationToken cancellationToken) =>
        database.InTransactionAsync("recording a staff member leaving in", async (connection, transaction, ct) =>
        {
            var before = await RequireAsync(connection, transaction, staffId, ct).ConfigureAwait(false);
            if (before.Status == "left") return before;
            await using (var update = Sql.Command(connection, transaction, "UPDATE staff SET status = 'left', updated_at = now() WHERE id = $1", staffId))
                await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            // The school blocks the person's cards on staff.leave; the centre's record says the same, so a snapshot never sends them active.
            await using (var block = Sql.Command(connection, transaction,
                "UPDATE cards SET status = 'blocked', updated_at = now() WHERE holder_kind = 'staff' AND holder_id = $1 AND status = 'active'", staffId))
                await block.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await ChangeFeed.AppendAsync(connection, transaction, before.School, ChangeKinds.StaffLeave, new StaffLeaveData(staffId),
                DownlinkJsonContext.Default.StaffLeaveData, ct).ConfigureAwait(false);
            return before with { Status = "left" };
        }, cancellationToken);

    /// <summary>The staff of a school.</summary>
    public Task<List<StaffView>> ListAsync(string? school, CancellationToken cancellationToken)
    {
        string id = Check.School(school);
        return database.RunAsync("listing staff in", async (connection, ct) =>
        {
            await Roster.RequireSchoolAsync(connection, null, id, ct).ConfigureAwait(false);
            return await Sql.ListAsync(Sql.Command(connection, null, $"SELECT {Columns} FROM staff WHERE school = $1 ORDER BY display_name, id", id), Read, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    internal static string RoleOf(string? role) =>
        role is not null && Roles.Contains(role) ? role
        : throw CentreRequestException.Invalid("role", $"role '{Check.Show(role)}' must be one of: {string.Join(", ", Roles)}.");

    private static async Task<StaffView> RequireAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long staffId, CancellationToken ct) =>
        await Sql.FirstAsync(Sql.Command(connection, transaction, $"SELECT {Columns} FROM staff WHERE id = $1 FOR UPDATE", staffId), Read, ct).ConfigureAwait(false)
        ?? throw CentreRequestException.NotFound($"No staff member {staffId} at the centre: GET /api/schools/{{school}}/staff lists a school's staff.");

    private static StaffView Read(NpgsqlDataReader r) => new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5));

    /// <summary>A random 15-digit ID, like pupils' (revealing neither order nor count).</summary>
    private static long NewStaffId()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        return 100_000_000_000_000L + (long)(BitConverter.ToUInt64(bytes) % 800_000_000_000_000UL);
    }
}
