using System.Globalization;
using System.Text.Json;

namespace Kezekshi.Edge.Agent.Sync;

/// <summary>
/// The downlink kinds the gate itself needs (docs/sync-protocol.md §5.1): classes, pupils, staff, cards, schedules and
/// holidays, written into the tables the access snapshot is loaded from. Each is an upsert or a replace by its natural key,
/// so applying a change twice leaves the same rows. <c>snapshot.end</c> removes what the centre no longer has (§5.4): pupils
/// and staff become <c>left</c>, pupil cards and cards of people no longer here are blocked, classes, schedules, holidays and
/// announcements not listed go, the centre's dishes not listed are withdrawn; nothing is deleted that money or a passage
/// refers to, and visitor cards and the office's own dishes are the school's.
/// </summary>
public sealed class RosterHandlers : IDownlinkHandler
{
    private static readonly string[] StaffRoles = ["teacher", "guard", "canteen", "office", "it", "service"];

    public IReadOnlyCollection<string> Kinds { get; } =
    [
        "class.upsert", "class.remove", "pupil.upsert", "pupil.leave", "staff.upsert", "staff.leave",
        "card.upsert", "card.block", "schedule.replace", "holiday.set", "holiday.remove", "snapshot.begin", "snapshot.end",
    ];

    public void Apply(DownlinkChange change, DownlinkContext context)
    {
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(context);
        switch (change.Kind)
        {
            case "class.upsert":
            {
                long grade = change.Long("grade");
                if (grade is < 0 or > 12) throw new DownlinkRejection($"class.upsert.grade {grade} is outside 0–12");
                Execute(context, "INSERT INTO classes(id, name, grade) VALUES ($id, $name, $grade) ON CONFLICT(id) DO UPDATE SET name = excluded.name, grade = excluded.grade",
                    ("$id", change.Long("classId")), ("$name", change.String("name", 40)), ("$grade", grade));
                break;
            }
            case "class.remove":
            {
                long id = change.Long("classId");
                if (Scalar(context, "SELECT COUNT(*) FROM pupils WHERE class_id = $id AND status = 'active'", ("$id", id)) > 0)
                    throw new DownlinkRejection($"class {id} still has active pupils; move or remove them first");
                RemoveClasses(context, $"[{id.ToString(CultureInfo.InvariantCulture)}]");
                break;
            }
            case "pupil.upsert":
                Execute(context, """
                    INSERT INTO pupils(id, class_id, full_name, status) VALUES ($id, $class, $name, $status)
                    ON CONFLICT(id) DO UPDATE SET class_id = excluded.class_id, full_name = excluded.full_name, status = excluded.status
                    """,
                    ("$id", change.Long("pupilId")), ("$class", change.Long("classId")), ("$name", change.String("displayName", 200)),
                    ("$status", change.OptionalString("status") is not null ? change.OneOf("status", "active", "left") : "active"));
                break;
            case "pupil.leave":
                Leave(context, "pupils", "pupil", change.Long("pupilId"));
                break;
            case "staff.upsert":
                Execute(context, """
                    INSERT INTO staff(id, full_name, role, status) VALUES ($id, $name, $role, $status)
                    ON CONFLICT(id) DO UPDATE SET full_name = excluded.full_name, role = excluded.role, status = excluded.status
                    """,
                    ("$id", change.Long("staffId")), ("$name", change.String("displayName", 200)), ("$role", change.OneOf("role", StaffRoles)),
                    ("$status", change.OptionalString("status") is not null ? change.OneOf("status", "active", "left") : "active"));
                break;
            case "staff.leave":
                Leave(context, "staff", "staff", change.Long("staffId"));
                break;
            case "card.upsert":
            {
                long card = change.Long("cardNumber");
                if (card is <= 0 or > uint.MaxValue) throw new DownlinkRejection($"card.upsert.cardNumber {card} is not a card number");
                Execute(context, """
                    INSERT INTO credentials(card_number, holder_kind, holder_id, status, issued_at) VALUES ($card, $kind, $holder, $status, $now)
                    ON CONFLICT(card_number) DO UPDATE SET holder_kind = excluded.holder_kind, holder_id = excluded.holder_id, status = excluded.status
                    """,
                    ("$card", card), ("$kind", change.OneOf("holderKind", "pupil", "staff", "visitor")), ("$holder", change.Long("holderId")),
                    ("$status", change.OptionalString("status") is not null ? change.OneOf("status", "active", "blocked", "lost") : "active"),
                    ("$now", context.Now.ToString("O", CultureInfo.InvariantCulture)));
                break;
            }
            case "card.block":
                Execute(context, "UPDATE credentials SET status = 'blocked' WHERE card_number = $card", ("$card", change.Long("cardNumber")));
                break;
            case "schedule.replace":
                ReplaceSchedule(change, context);
                break;
            case "holiday.set":
                Execute(context, "INSERT INTO holidays(day, name) VALUES ($day, $name) ON CONFLICT(day) DO UPDATE SET name = excluded.name",
                    ("$day", Day(change)), ("$name", change.String("name", 200)));
                break;
            case "holiday.remove":
                Execute(context, "DELETE FROM holidays WHERE day = $day", ("$day", Day(change)));
                break;
            case "snapshot.begin":
                change.String("snapshotId", 100); // nothing to do yet: the upserts that follow are applied as they come
                break;
            case "snapshot.end":
                EndSnapshot(change, context);
                break;
            default:
                throw new DownlinkRejection($"RosterHandlers does not apply {change.Kind}");
        }
    }

    /// <summary>
    /// Removes what the centre no longer has (docs/sync-protocol.md §5.4), by the keys <c>snapshot.end</c> lists. Idempotent:
    /// a second application finds nothing more to remove. Rows are marked or blocked rather than deleted where passages,
    /// ledger entries or loans refer to them, so no money and no history is lost.
    /// </summary>
    private static void EndSnapshot(DownlinkChange change, DownlinkContext context)
    {
        change.String("snapshotId", 100);
        string pupils = Keys(change, "pupils"), staff = Keys(change, "staff"), cards = Keys(change, "cards"), classes = Keys(change, "classes");
        string holidays = Keys(change, "holidays"), classSchedules = Keys(change, "classSchedules"), roleSchedules = Keys(change, "roleSchedules");
        string? announcements = OptionalKeys(change, "announcements"), menuItems = OptionalKeys(change, "menuItems");

        Execute(context, "UPDATE pupils SET status = 'left' WHERE status = 'active' AND id NOT IN (SELECT value FROM json_each($k))", ("$k", pupils));
        Execute(context, "UPDATE staff SET status = 'left' WHERE status = 'active' AND id NOT IN (SELECT value FROM json_each($k))", ("$k", staff));
        // Pupil cards are the centre's: one it does not list is blocked. A staff card not listed stays only while its holder is
        // listed staff (cards the school's office issued to its current staff); visitor cards are the office's own.
        Execute(context, """
            UPDATE credentials SET status = 'blocked'
            WHERE status = 'active' AND card_number NOT IN (SELECT value FROM json_each($cards))
              AND (holder_kind = 'pupil' OR holder_kind = 'staff' AND holder_id NOT IN (SELECT value FROM json_each($staff)))
            """, ("$cards", cards), ("$staff", staff));
        Execute(context, "DELETE FROM schedules WHERE applies_to = 'class' AND class_id NOT IN (SELECT value FROM json_each($k))", ("$k", classSchedules));
        Execute(context, "DELETE FROM schedules WHERE applies_to = 'role' AND role NOT IN (SELECT value FROM json_each($k))", ("$k", roleSchedules));
        Execute(context, "DELETE FROM holidays WHERE day NOT IN (SELECT value FROM json_each($k))", ("$k", holidays));
        using (var gone = context.Command("SELECT json_group_array(id) FROM classes WHERE id NOT IN (SELECT value FROM json_each($k))"))
        {
            gone.Parameters.AddWithValue("$k", classes);
            RemoveClasses(context, (string)gone.ExecuteScalar()!);
        }
        // Announcements and the centre's dishes live only in the feed (the board's announcements all come from the centre). They
        // are removed here, in the transaction that records the version, rather than through the ledger's own transactions, so
        // the whole end is one commit. A snapshot written before these lists existed carries neither: nothing is removed then.
        if (announcements is not null)
            Execute(context, "DELETE FROM announcements WHERE uid NOT IN (SELECT CAST(value AS TEXT) FROM json_each($k))", ("$k", announcements));
        // A dish the centre published (code c-{menuItemId}) that none of its menus from yesterday on lists is withdrawn, not
        // deleted: past sales keep their lines and unit prices, bans keep their item, and publishing it again brings it back.
        // Dishes the school office added under its own codes are not the centre's.
        if (menuItems is not null)
            Execute(context, """
                UPDATE canteen_menu_items SET active = 0
                WHERE active = 1 AND code GLOB 'c-[0-9]*' AND CAST(substr(code, 3) AS INTEGER) NOT IN (SELECT value FROM json_each($k))
                """, ("$k", menuItems));
    }

    /// <summary>
    /// Removes classes (a JSON array of ids) with their schedules and bell times. A class still referred to by a pupil — one
    /// who left keeps their class for the history — stays as a row without schedules; it is no longer offered anywhere.
    /// </summary>
    private static void RemoveClasses(DownlinkContext context, string ids)
    {
        Execute(context, "DELETE FROM schedules WHERE class_id IN (SELECT value FROM json_each($k))", ("$k", ids));
        Execute(context, "DELETE FROM bell_schedule WHERE class_id IN (SELECT value FROM json_each($k))", ("$k", ids));
        Execute(context, "DELETE FROM classes WHERE id IN (SELECT value FROM json_each($k)) AND NOT EXISTS (SELECT 1 FROM pupils WHERE class_id = classes.id)", ("$k", ids));
    }

    /// <summary>A list of keys from <c>snapshot.end</c> as a JSON array for <c>json_each</c>; a missing list is a rejection (never "remove all").</summary>
    private static string Keys(DownlinkChange change, string name)
    {
        if (!change.Data.TryGetProperty(name, out var list) || list.ValueKind != JsonValueKind.Array)
            throw new DownlinkRejection($"snapshot.end.{name} is missing or not an array; nothing was removed");
        foreach (var item in list.EnumerateArray())
            if (item.ValueKind is not (JsonValueKind.Number or JsonValueKind.String))
                throw new DownlinkRejection($"snapshot.end.{name} holds a {item.ValueKind}; keys are numbers or strings");
        return list.GetRawText();
    }

    /// <summary>A list of keys that snapshots written before it existed do not carry: null when absent (then nothing of that kind is removed).</summary>
    private static string? OptionalKeys(DownlinkChange change, string name) =>
        change.Data.TryGetProperty(name, out _) ? Keys(change, name) : null;

    /// <summary>A person who left: the status changes and every card of theirs is blocked at once.</summary>
    private static void Leave(DownlinkContext context, string table, string holderKind, long id)
    {
        Execute(context, $"UPDATE {table} SET status = 'left' WHERE id = $id", ("$id", id));
        Execute(context, "UPDATE credentials SET status = 'blocked' WHERE holder_kind = $kind AND holder_id = $id", ("$kind", holderKind), ("$id", id));
    }

    private static void ReplaceSchedule(DownlinkChange change, DownlinkContext context)
    {
        string appliesTo = change.OneOf("appliesTo", "class", "role");
        long? classId = appliesTo == "class" ? change.Long("classId") : null;
        string? role = appliesTo == "role" ? change.OneOf("role", StaffRoles) : null;
        if (!change.Data.TryGetProperty("windows", out var windows) || windows.ValueKind != JsonValueKind.Array)
            throw new DownlinkRejection("schedule.replace.windows is missing or not an array");
        if (classId is { } c) Execute(context, "DELETE FROM schedules WHERE applies_to = 'class' AND class_id = $c", ("$c", c));
        else Execute(context, "DELETE FROM schedules WHERE applies_to = 'role' AND role = $r", ("$r", role!));
        foreach (var window in windows.EnumerateArray())
        {
            if (window.ValueKind != JsonValueKind.Object
                || !window.TryGetProperty("weekday", out var wd) || !wd.TryGetInt32(out int weekday) || weekday is < 1 or > 7)
                throw new DownlinkRejection("schedule.replace.windows[].weekday must be 1 (Monday) to 7");
            string from = Time(window, "from"), until = Time(window, "until");
            if (string.CompareOrdinal(from, until) >= 0) throw new DownlinkRejection($"schedule.replace window {from}–{until} ends before it starts");
            Execute(context, "INSERT INTO schedules(applies_to, class_id, role, weekday, from_time, until_time) VALUES ($a, $c, $r, $w, $f, $u)",
                ("$a", appliesTo), ("$c", (object?)classId ?? DBNull.Value), ("$r", (object?)role ?? DBNull.Value), ("$w", weekday), ("$f", from), ("$u", until));
        }
    }

    private static string Time(JsonElement window, string name)
    {
        if (window.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            && TimeOnly.TryParseExact(v.GetString(), "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
            return time.ToString("HH:mm", CultureInfo.InvariantCulture);
        throw new DownlinkRejection($"schedule.replace.windows[].{name} must be a time HH:mm");
    }

    private static string Day(DownlinkChange change)
    {
        string day = change.String("day");
        return DateOnly.TryParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _)
            ? day
            : throw new DownlinkRejection($"{change.Kind}.day \"{day}\" is not a date yyyy-MM-dd");
    }

    private static void Execute(DownlinkContext context, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = context.Command(sql);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        command.ExecuteNonQuery();
    }

    private static long Scalar(DownlinkContext context, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = context.Command(sql);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}
