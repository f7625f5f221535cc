using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Kezekshi.Server.Sync.Store;
using Npgsql;

namespace Kezekshi.Server.Sync.Domain;

/// <summary>
/// Snapshots of a school's whole current state written to its feed (docs/sync-protocol.md §5.4): <c>snapshot.begin</c>,
/// ordinary upserts of everything the school keeps from the centre, then the keys sent in <c>snapshot.keys</c> parts (each well
/// under the message limit, so a school of any size fits) and <c>snapshot.end</c> with the number of parts and keys per list, all
/// as versioned changes in one transaction. The school applies them like any change and then removes what the centre no
/// longer has. Used when an operator asks (<c>POST /api/schools/{id}/resync</c>) and when a school with no applied version
/// (a new or reset gate PC) or one behind the feed's retention floor says hello (<c>DownlinkFeed.BaseVersionAsync</c>).
/// </summary>
/// <remarks>
/// The first append (<c>snapshot.begin</c>) takes the school's feed row lock, and the state is read only after it: a change
/// committed before the lock is in the snapshot, and one still in flight waits for the lock and lands after
/// <c>snapshot.end</c>, so the school applies it on top of the snapshot. Kinds the centre keeps only in the feed (schedules,
/// holidays, menus, announcements, top-ups) are read back from the feed: the latest change per key.
/// </remarks>
public sealed class Snapshots(CentreDatabase database, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>Writes a snapshot to the school's feed at an operator's request.</summary>
    public Task<SnapshotView> ResyncAsync(string? school, ResyncRequest? request, CancellationToken cancellationToken)
    {
        string id = Check.School(school);
        string reason = Check.OptionalText(request?.Reason, "reason", 200) ?? "resync requested by an operator";
        return database.InTransactionAsync("writing a snapshot to", async (connection, transaction, ct) =>
        {
            await Roster.RequireSchoolAsync(connection, transaction, id, ct).ConfigureAwait(false);
            return await WriteAsync(connection, transaction, id, reason, _clock.GetUtcNow(), ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>Largest <c>snapshot.keys</c> data in bytes: with the envelope it stays well under the 256 KiB message limit (§3).</summary>
    public const int KeysPartBytes = 200 * 1024;

    /// <summary>Most keys of one kind in one <c>snapshot.keys</c> (arrays ≤ 1,000 items, docs/sync-protocol.md §3).</summary>
    public const int KeysPerList = 1000;

    /// <summary>Changes written per multi-row insert.</summary>
    private const int AppendChunk = 5000;

    /// <summary>
    /// Writes <c>snapshot.begin</c>, the upserts, the key lists split into <c>snapshot.keys</c> parts and <c>snapshot.end</c>
    /// (the number of parts and the count of keys per list) for <paramref name="school"/> inside the caller's transaction.
    /// </summary>
    internal static async Task<SnapshotView> WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string school, string reason,
        DateTimeOffset now, CancellationToken ct)
    {
        string snapshotId = "snap-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        int changes = 0;
        long last = 0;
        // Changes are buffered and written in bulk (one version bump per chunk), in order; versions stay contiguous because
        // the feed row lock taken by snapshot.begin is held to the end of the transaction.
        var pending = new List<(string Kind, string Data)>();
        async Task Flush()
        {
            if (pending.Count == 0) return;
            last = await ChangeFeed.AppendManyAsync(connection, transaction, school, pending, ct).ConfigureAwait(false);
            pending.Clear();
        }
        async Task AppendRaw(string kind, string data)
        {
            changes++;
            if (kind == ChangeKinds.TemplateUpsert)
            {
                // A template records its placement, so it goes through the one-by-one append (after what is buffered).
                await Flush().ConfigureAwait(false);
                last = await ChangeFeed.AppendAsync(connection, transaction, school, kind, 1, data, ct).ConfigureAwait(false);
                return;
            }
            pending.Add((kind, data));
            if (pending.Count >= AppendChunk) await Flush().ConfigureAwait(false);
        }
        Task Append<T>(string kind, T data, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) =>
            AppendRaw(kind, JsonSerializer.Serialize(data, type));

        // 1. The feed row lock; everything below is read after it.
        changes++;
        long begin = await ChangeFeed.AppendAsync(connection, transaction, school, ChangeKinds.SnapshotBegin, new SnapshotBeginData(snapshotId, reason),
            DownlinkJsonContext.Default.SnapshotBeginData, ct).ConfigureAwait(false);

        // 2. The roster from the centre's tables (lists first: one connection runs one command at a time).
        var classes = await Sql.ListAsync(Sql.Command(connection, transaction,
            "SELECT id, name, grade FROM classes WHERE school = $1 AND removed_at IS NULL ORDER BY id", school),
            r => new ClassData(r.GetInt64(0), r.GetString(1), r.GetInt32(2)), ct).ConfigureAwait(false);
        var pupils = await Sql.ListAsync(Sql.Command(connection, transaction,
            "SELECT id, class_id, display_name, daily_limit_tiyn FROM pupils WHERE school = $1 AND status = 'active' ORDER BY id", school),
            r => (Data: new PupilData(r.GetInt64(0), r.GetInt64(1), r.GetString(2), "active"), Limit: r.OptionalInt64(3)), ct).ConfigureAwait(false);
        var staff = await Sql.ListAsync(Sql.Command(connection, transaction,
            "SELECT id, display_name, role FROM staff WHERE school = $1 AND status = 'active' ORDER BY id", school),
            r => new StaffData(r.GetInt64(0), r.GetString(1), r.GetString(2), "active"), ct).ConfigureAwait(false);
        var cards = await Sql.ListAsync(Sql.Command(connection, transaction, """
            SELECT c.card_number, c.holder_kind, c.holder_id
            FROM cards c
            LEFT JOIN pupils p ON c.holder_kind = 'pupil' AND p.id = c.holder_id
            LEFT JOIN staff s ON c.holder_kind = 'staff' AND s.id = c.holder_id
            WHERE c.status = 'active' AND COALESCE(p.school, s.school) = $1 AND COALESCE(p.status, s.status) = 'active'
            ORDER BY c.card_number
            """, school), r => new CardData(r.GetInt64(0), r.GetString(1), r.GetInt64(2), "active"), ct).ConfigureAwait(false);
        // Consents of the school's pupils, and of pupils whose templates the centre placed here (consent follows the pupil record).
        var consents = await Sql.ListAsync(Sql.Command(connection, transaction, """
            SELECT c.id, c.pupil, c.purposes, c.expires_at
            FROM consents c JOIN pupils p ON p.id = c.pupil
            WHERE c.status = 'granted' AND (c.expires_at IS NULL OR c.expires_at > $2) AND p.status = 'active'
              AND (p.school = $1 OR c.pupil IN (SELECT pupil FROM template_placements WHERE school = $1))
            ORDER BY c.id
            """, school, now), r => new ConsentGrantData(r.GetString(0), r.GetInt64(1), r.GetFieldValue<string[]>(2), r.OptionalTime(3)), ct).ConfigureAwait(false);

        foreach (var c in classes) await Append(ChangeKinds.ClassUpsert, c, DownlinkJsonContext.Default.ClassData).ConfigureAwait(false);
        foreach (var p in pupils) await Append(ChangeKinds.PupilUpsert, p.Data, DownlinkJsonContext.Default.PupilData).ConfigureAwait(false);
        foreach (var p in pupils)
            if (p.Limit is { } limit) await Append(ChangeKinds.LimitsSet, new LimitsData(p.Data.PupilId, limit), DownlinkJsonContext.Default.LimitsData).ConfigureAwait(false);
        foreach (var s in staff) await Append(ChangeKinds.StaffUpsert, s, DownlinkJsonContext.Default.StaffData).ConfigureAwait(false);
        foreach (var c in cards) await Append(ChangeKinds.CardUpsert, c, DownlinkJsonContext.Default.CardData).ConfigureAwait(false);
        foreach (var c in consents) await Append(ChangeKinds.ConsentGrant, c, DownlinkJsonContext.Default.ConsentGrantData).ConfigureAwait(false);

        // 3. What the centre keeps only in the feed: the latest change per key, sent again as it was.
        var liveClasses = classes.Select(c => c.ClassId).ToHashSet();
        var schedules = await LatestAsync(connection, transaction, school, ["schedule.replace"],
            "payload->>'appliesTo', COALESCE(payload->>'classId', payload->>'role')", begin, ct).ConfigureAwait(false);
        var classSchedules = new List<long>();
        var roleSchedules = new List<string>();
        foreach (var (_, data) in schedules)
        {
            using var document = JsonDocument.Parse(data);
            var root = document.RootElement;
            if (root.GetProperty("appliesTo").GetString() == "class")
            {
                long classId = root.GetProperty("classId").GetInt64();
                if (!liveClasses.Contains(classId)) continue; // a removed class's schedule went with it
                classSchedules.Add(classId);
            }
            else roleSchedules.Add(root.GetProperty("role").GetString()!);
            await AppendRaw(ChangeKinds.ScheduleReplace, data).ConfigureAwait(false);
        }
        var holidays = new List<string>();
        foreach (var (kind, data) in await LatestAsync(connection, transaction, school, ["holiday.set", "holiday.remove"], "payload->>'day'", begin, ct).ConfigureAwait(false))
        {
            if (kind != ChangeKinds.HolidaySet) continue;
            using (var document = JsonDocument.Parse(data)) holidays.Add(document.RootElement.GetProperty("day").GetString()!);
            await AppendRaw(kind, data).ConfigureAwait(false);
        }
        // Menus from yesterday on; the school withdraws the centre's dishes that none of them lists (past sales keep their prices).
        string yesterday = DateOnly.FromDateTime(now.UtcDateTime).AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var menuItems = new SortedSet<long>();
        foreach (var (kind, data) in await LatestAsync(connection, transaction, school, ["menu.publish"], "payload->>'day'", begin, ct).ConfigureAwait(false))
        {
            using (var document = JsonDocument.Parse(data))
            {
                if (string.CompareOrdinal(document.RootElement.GetProperty("day").GetString(), yesterday) < 0) continue; // past menus change nothing
                if (document.RootElement.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Array)
                    foreach (var item in items.EnumerateArray())
                        if (item.TryGetProperty("menuItemId", out var id) && id.TryGetInt64(out long menuItemId)) menuItems.Add(menuItemId);
            }
            await AppendRaw(kind, data).ConfigureAwait(false);
        }
        var announcements = new List<string>();
        foreach (var (kind, data) in await LatestAsync(connection, transaction, school, ["announcement", "announcement.withdraw"], "payload->>'announcementId'", begin, ct).ConfigureAwait(false))
        {
            if (kind != ChangeKinds.Announcement) continue;
            using (var document = JsonDocument.Parse(data))
            {
                if (document.RootElement.TryGetProperty("showUntil", out var until) && until.GetDateTimeOffset() <= now) continue;
                announcements.Add(document.RootElement.GetProperty("announcementId").GetString()!);
            }
            await AppendRaw(kind, data).ConfigureAwait(false);
        }
        // Money: every top-up sent to this school for a pupil still here, again; the school applies each once by topupId, so
        // one it already has changes nothing, and a reset gate PC gets its balances back. Nothing is ever taken away.
        var active = pupils.Select(p => p.Data.PupilId).ToHashSet();
        foreach (var (kind, data) in await LatestAsync(connection, transaction, school, ["topup"], "payload->>'topupId'", begin, ct).ConfigureAwait(false))
        {
            using (var document = JsonDocument.Parse(data))
                if (!active.Contains(document.RootElement.GetProperty("pupilId").GetInt64())) continue;
            await AppendRaw(kind, data).ConfigureAwait(false);
        }

        // 4. Sealed templates placed here (still sealed for this school's key; the centre cannot open them) and transfer
        // requests this school has not answered yet, copied from the changes that carried them.
        var placed = await Sql.ListAsync(Sql.Command(connection, transaction, """
            SELECT c.payload::text
            FROM template_placements t
            JOIN downlink_changes c ON c.school = t.school AND c.version = t.version
            JOIN pupils p ON p.id = t.pupil
            WHERE t.school = $1 AND p.status = 'active' AND c.type = 'template.upsert'
            ORDER BY t.version
            """, school), r => r.GetString(0), ct).ConfigureAwait(false);
        foreach (string data in placed) await AppendRaw(ChangeKinds.TemplateUpsert, data).ConfigureAwait(false);
        var requests = await Sql.ListAsync(Sql.Command(connection, transaction, """
            SELECT c.payload::text
            FROM template_transfers t JOIN downlink_changes c ON c.school = t.from_school AND c.version = t.request_version
            WHERE t.from_school = $1 AND t.status = 'requested'
            ORDER BY t.request_version
            """, school), r => r.GetString(0), ct).ConfigureAwait(false);
        foreach (string data in requests) await AppendRaw(ChangeKinds.TemplateExportRequest, data).ConfigureAwait(false);

        // 5. The keys sent, in snapshot.keys parts of at most KeysPartBytes each, then snapshot.end with the number of parts and
        // the count per list: the school removes what it holds from the centre and is not listed, only once every part is in.
        KeyList[] lists =
        [
            KeyList.Of("classes", classes.Select(c => c.ClassId)), KeyList.Of("pupils", pupils.Select(p => p.Data.PupilId)),
            KeyList.Of("staff", staff.Select(s => s.StaffId)), KeyList.Of("cards", cards.Select(c => c.CardNumber)),
            KeyList.Of("consents", consents.Select(c => c.ConsentId)), KeyList.Of("holidays", holidays),
            KeyList.Of("classSchedules", classSchedules), KeyList.Of("roleSchedules", roleSchedules),
            KeyList.Of("announcements", announcements), KeyList.Of("menuItems", menuItems),
        ];
        var parts = KeyParts(snapshotId, lists);
        foreach (string part in parts) await AppendRaw(ChangeKinds.SnapshotKeys, part).ConfigureAwait(false);
        var end = new SnapshotEndData(snapshotId, parts.Count, lists.ToDictionary(l => l.Name, l => l.Keys.Count, StringComparer.Ordinal));
        await Append(ChangeKinds.SnapshotEnd, end, DownlinkJsonContext.Default.SnapshotEndData).ConfigureAwait(false);
        await Flush().ConfigureAwait(false);
        return new SnapshotView(school, snapshotId, reason, begin, last, classes.Count, pupils.Count, staff.Count, cards.Count, consents.Count, changes)
        {
            KeyParts = parts.Count,
        };
    }

    /// <summary>One list of keys for <c>snapshot.keys</c>, each already written as a JSON value (a number or a string).</summary>
    internal sealed record KeyList(string Name, IReadOnlyList<JsonValue> Keys)
    {
        public static KeyList Of(string name, IEnumerable<long> keys) => new(name, keys.Select(k => new JsonValue(k, null)).ToList());

        public static KeyList Of(string name, IEnumerable<string> keys) => new(name, keys.Select(k => new JsonValue(0, k)).ToList());
    }

    /// <summary>A key: <see cref="Text"/> when it is a string, else <see cref="Number"/>.</summary>
    internal readonly record struct JsonValue(long Number, string? Text);

    /// <summary>
    /// Splits the key lists into <c>snapshot.keys</c> data objects of at most <paramref name="maxBytes"/> bytes and
    /// <paramref name="maxItems"/> keys per list, in order; always at least one part (an empty school still ends its snapshot).
    /// </summary>
    internal static List<string> KeyParts(string snapshotId, IReadOnlyList<KeyList> lists, int maxBytes = KeysPartBytes, int maxItems = KeysPerList)
    {
        var parts = new List<string>();
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        Utf8JsonWriter? json = null;
        string? open = null;
        int inList = 0;
        void Start()
        {
            buffer.Clear();
            json = new Utf8JsonWriter(buffer);
            json.WriteStartObject();
            json.WriteString("snapshotId", snapshotId);
            json.WriteNumber("part", parts.Count + 1);
            open = null;
        }
        void Finish()
        {
            if (open is not null) json!.WriteEndArray();
            json!.WriteEndObject();
            json.Flush();
            parts.Add(Encoding.UTF8.GetString(buffer.WrittenSpan));
            json.Dispose();
            json = null;
        }
        foreach (var list in lists)
        {
            foreach (var key in list.Keys)
            {
                if (json is null) Start();
                // Upper bound of what the key adds (a string may be escaped, at most 6 bytes per UTF-16 unit), plus closing brackets.
                long adds = (key.Text is { } text ? text.Length * 6 + 3 : 21) + list.Name.Length + 8;
                if (json!.BytesCommitted + json.BytesPending + adds > maxBytes || open == list.Name && inList >= maxItems)
                {
                    Finish();
                    Start();
                }
                if (open != list.Name)
                {
                    if (open is not null) json!.WriteEndArray();
                    json!.WriteStartArray(list.Name);
                    open = list.Name;
                    inList = 0;
                }
                if (key.Text is { } s) json!.WriteStringValue(s);
                else json!.WriteNumberValue(key.Number);
                inList++;
            }
        }
        if (json is null && parts.Count == 0) Start();
        if (json is not null) Finish();
        return parts;
    }

    /// <summary>The latest change per <paramref name="key"/> among <paramref name="kinds"/> before <paramref name="before"/>, oldest first.</summary>
    private static async Task<List<(string Kind, string Data)>> LatestAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string school,
        string[] kinds, string key, long before, CancellationToken ct)
    {
        var latest = await Sql.ListAsync(Sql.Command(connection, transaction, $"""
            SELECT DISTINCT ON ({key}) version, type, payload::text
            FROM downlink_changes WHERE school = $1 AND type = ANY($2) AND version < $3
            ORDER BY {key}, version DESC
            """, school, kinds, before), r => (Version: r.GetInt64(0), Kind: r.GetString(1), Data: r.GetString(2)), ct).ConfigureAwait(false);
        return latest.OrderBy(l => l.Version).Select(l => (l.Kind, l.Data)).ToList();
    }
}
