using System.Security.Cryptography;
using Kezekshi.Server.Sync.Store;
using Npgsql;
using NpgsqlTypes;

namespace Kezekshi.Server.Sync.Domain;

/// <summary>
/// Schools, classes, pupils, guardians and cards at the centre. Each change a school must know is written to that
/// school's downlink feed in the same transaction (<see cref="ChangeFeed"/>), and only when something actually changed,
/// so repeating a PUT writes nothing new.
/// </summary>
public sealed class Roster(CentreDatabase database)
{
    private const string PupilColumns = "id, full_name, display_name, school, class_id, status, daily_limit_tiyn";

    private static readonly string[] s_relations = ["parent", "legal-guardian", "trustee"];
    private static readonly string[] s_cardStatuses = ["active", "blocked", "lost"];

    /// <summary>The registered schools, optionally of one region.</summary>
    public Task<List<SchoolView>> ListSchoolsAsync(string? region, CancellationToken cancellationToken) =>
        database.RunAsync("listing the schools of", (connection, ct) => Sql.ListAsync(Sql.Command(connection, null, """
            SELECT s.id, s.region, s.name, s.last_seen, COALESCE(f.version, 0), s.downlink_acked_version
            FROM schools s LEFT JOIN school_feeds f ON f.school = s.id
            WHERE $1::text IS NULL OR s.region = $1 ORDER BY s.id
            """, Sql.Nullable(region)), ReadSchool, ct), cancellationToken);

    /// <summary>Registers a school (or changes its region and name); idempotent.</summary>
    public async Task<SchoolView> RegisterSchoolAsync(string? id, SchoolRequest request, CancellationToken cancellationToken)
    {
        string school = Check.School(id, "id");
        string region = Check.Region(request.Region);
        string name = Check.Text(request.Name, "name");
        await database.RegisterSchoolAsync(school, region, name, cancellationToken).ConfigureAwait(false);
        return (await ListSchoolsAsync(region, cancellationToken).ConfigureAwait(false)).First(s => s.Id == school);
    }

    /// <summary>Creates the class <paramref name="request"/> names in <paramref name="school"/>, or changes its grade.</summary>
    /// <returns>The class, and whether it was created.</returns>
    public Task<(ClassView Class, bool Created)> PutClassAsync(string? school, ClassRequest request, CancellationToken cancellationToken)
    {
        string id = Check.School(school);
        string name = Check.Text(request.Name, "name", 32);
        int grade = Check.Required(request.Grade, "grade");
        if (grade is < 0 or > 12) throw CentreRequestException.Invalid("grade", $"grade must be 0–12 (got {grade}).");
        return database.InTransactionAsync("writing a class to", async (connection, transaction, ct) =>
        {
            await RequireSchoolAsync(connection, transaction, id, ct).ConfigureAwait(false);
            var written = await Sql.FirstAsync(Sql.Command(connection, transaction, """
                INSERT INTO classes(school, name, grade) VALUES ($1, $2, $3)
                ON CONFLICT (school, name) DO UPDATE SET grade = excluded.grade, removed_at = NULL
                    WHERE classes.grade <> excluded.grade OR classes.removed_at IS NOT NULL
                RETURNING id, xmax = 0
                """, id, name, grade), r => new Written(r.GetInt64(0), r.GetBoolean(1)), ct).ConfigureAwait(false);
            if (written is null)
            {
                await using var existing = Sql.Command(connection, transaction, "SELECT id FROM classes WHERE school = $1 AND name = $2", id, name);
                return (new ClassView((long)(await existing.ExecuteScalarAsync(ct).ConfigureAwait(false))!, id, name, grade), false);
            }
            await ChangeFeed.AppendAsync(connection, transaction, id, ChangeKinds.ClassUpsert, new ClassData(written.Id, name, grade),
                DownlinkJsonContext.Default.ClassData, ct).ConfigureAwait(false);
            return (new ClassView(written.Id, id, name, grade), written.Inserted);
        }, cancellationToken);
    }

    /// <summary>The classes of a school.</summary>
    public Task<List<ClassView>> ListClassesAsync(string? school, CancellationToken cancellationToken)
    {
        string id = Check.School(school);
        return database.RunAsync("listing classes in", async (connection, ct) =>
        {
            await RequireSchoolAsync(connection, null, id, ct).ConfigureAwait(false);
            return await Sql.ListAsync(Sql.Command(connection, null, "SELECT id, school, name, grade FROM classes WHERE school = $1 AND removed_at IS NULL ORDER BY grade, name", id),
                r => new ClassView(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt32(3)), ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>
    /// Removes a class from its school and sends <c>class.remove</c>. Refused (409, naming how many) while active pupils
    /// are in it: move them first (PUT /api/pupils/{id} with another classId) or record them as left. Pupils are never
    /// moved implicitly, because which class they go to is a decision the centre cannot guess. Idempotent.
    /// </summary>
    public Task<ClassView> RemoveClassAsync(string? school, long classId, CancellationToken cancellationToken)
    {
        string id = Check.School(school);
        if (classId <= 0) throw CentreRequestException.Invalid("classId", $"classId must be a positive number (got {classId}).");
        return database.InTransactionAsync("removing a class from", async (connection, transaction, ct) =>
        {
            await RequireSchoolAsync(connection, transaction, id, ct).ConfigureAwait(false);
            var found = await Sql.FirstAsync(Sql.Command(connection, transaction,
                "SELECT id, school, name, grade, removed_at IS NOT NULL FROM classes WHERE id = $1 AND school = $2 FOR UPDATE", classId, id),
                r => new ClassAt(new ClassView(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt32(3)), r.GetBoolean(4)), ct).ConfigureAwait(false);
            if (found is null)
                throw CentreRequestException.NotFound($"School {id} has no class {classId}: list its classes (GET /api/schools/{id}/classes).");
            if (found.Removed) return found.View;
            // FOR SHARE: a pupil enrolled into this class at the same moment either commits first (and is counted) or waits.
            await using (var count = Sql.Command(connection, transaction,
                "SELECT COUNT(*) FROM (SELECT 1 FROM pupils WHERE class_id = $1 AND status = 'active' FOR SHARE) active", classId))
            {
                long active = (long)(await count.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
                if (active > 0)
                    throw new CentreRequestException(RequestProblem.Conflict, "classId",
                        $"Class {found.View.Name} ({classId}) still has {active} active pupil{(active == 1 ? "" : "s")}: move them to another class (PUT /api/pupils/{{id}} with a new classId) or record them as left (POST /api/pupils/{{id}}/leave), then remove the class.");
            }
            await using (var update = Sql.Command(connection, transaction, "UPDATE classes SET removed_at = now() WHERE id = $1", classId))
                await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await ChangeFeed.AppendAsync(connection, transaction, id, ChangeKinds.ClassRemove, new ClassRemoveData(classId),
                DownlinkJsonContext.Default.ClassRemoveData, ct).ConfigureAwait(false);
            return found.View;
        }, cancellationToken);
    }

    /// <summary>Enrols a pupil with a new pseudonymous ID in the school of the given class.</summary>
    public Task<PupilView> EnrolPupilAsync(PupilRequest request, CancellationToken cancellationToken)
    {
        long classId = Check.Positive(request.ClassId, "classId");
        string fullName = Check.Text(request.FullName, "fullName");
        string displayName = Check.OptionalText(request.DisplayName, "displayName", 64) ?? DisplayNameOf(fullName);
        return database.InTransactionAsync("enrolling a pupil in", async (connection, transaction, ct) =>
        {
            string school = await SchoolOfClassAsync(connection, transaction, classId, ct).ConfigureAwait(false);
            long id;
            while (true)
            {
                id = NewPupilId();
                await using var insert = Sql.Command(connection, transaction, """
                    INSERT INTO pupils(id, full_name, display_name, school, class_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING
                    """, id, fullName, displayName, school, classId);
                if (await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1) break; // else the random ID was taken: draw again
            }
            await ChangeFeed.AppendAsync(connection, transaction, school, ChangeKinds.PupilUpsert, new PupilData(id, classId, displayName, "active"),
                DownlinkJsonContext.Default.PupilData, ct).ConfigureAwait(false);
            return new PupilView(id, fullName, displayName, school, classId, "active", null);
        }, cancellationToken);
    }

    /// <summary>A pupil; 404 when unknown.</summary>
    public Task<PupilView> GetPupilAsync(long pupilId, CancellationToken cancellationToken) =>
        database.RunAsync("reading a pupil from", (connection, ct) => RequirePupilAsync(connection, null, pupilId, ct), cancellationToken);

    /// <summary>
    /// Changes a pupil's class and names. A class in another school is a transfer: the old school gets
    /// <c>pupil.leave</c>, the new one the pupil, their active cards and their spending cap.
    /// </summary>
    public Task<PupilView> UpdatePupilAsync(long pupilId, PupilRequest request, CancellationToken cancellationToken)
    {
        long classId = Check.Positive(request.ClassId, "classId");
        string fullName = Check.Text(request.FullName, "fullName");
        string displayName = Check.OptionalText(request.DisplayName, "displayName", 64) ?? DisplayNameOf(fullName);
        return database.InTransactionAsync("updating a pupil in", async (connection, transaction, ct) =>
        {
            var before = await RequirePupilAsync(connection, transaction, pupilId, ct, forUpdate: true).ConfigureAwait(false);
            if (before.Status == "left")
                throw new CentreRequestException(RequestProblem.Conflict, "pupilId", $"Pupil {pupilId} has left; enrol them again (POST /api/pupils) to bring them back.");
            string school = await SchoolOfClassAsync(connection, transaction, classId, ct).ConfigureAwait(false);
            var after = before with { FullName = fullName, DisplayName = displayName, ClassId = classId, School = school };
            if (after == before) return before;
            await using (var update = Sql.Command(connection, transaction,
                "UPDATE pupils SET full_name = $2, display_name = $3, school = $4, class_id = $5, updated_at = now() WHERE id = $1",
                pupilId, fullName, displayName, school, classId))
                await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            if (before.DisplayName != displayName || before.ClassId != classId)
                await ChangeFeed.AppendAsync(connection, transaction, school, ChangeKinds.PupilUpsert, new PupilData(pupilId, classId, displayName, "active"),
                    DownlinkJsonContext.Default.PupilData, ct).ConfigureAwait(false);
            if (before.School != school)
            {
                await ChangeFeed.AppendAsync(connection, transaction, before.School, ChangeKinds.PupilLeave, new PupilLeaveData(pupilId),
                    DownlinkJsonContext.Default.PupilLeaveData, ct).ConfigureAwait(false);
                foreach (var card in await CardsOfAsync(connection, transaction, pupilId, ct).ConfigureAwait(false))
                    await ChangeFeed.AppendAsync(connection, transaction, school, ChangeKinds.CardUpsert, new CardData(card.CardNumber, card.HolderKind, card.HolderId, card.Status),
                        DownlinkJsonContext.Default.CardData, ct).ConfigureAwait(false);
                if (before.DailyLimitTiyn is { } limit)
                    await ChangeFeed.AppendAsync(connection, transaction, school, ChangeKinds.LimitsSet, new LimitsData(pupilId, limit),
                        DownlinkJsonContext.Default.LimitsData, ct).ConfigureAwait(false);
            }
            return after;
        }, cancellationToken);
    }

    /// <summary>Marks a pupil as having left; their school removes them and their templates. Idempotent.</summary>
    public Task<PupilView> LeavePupilAsync(long pupilId, CancellationToken cancellationToken) =>
        database.InTransactionAsync("recording a pupil leaving in", async (connection, transaction, ct) =>
        {
            var pupil = await RequirePupilAsync(connection, transaction, pupilId, ct, forUpdate: true).ConfigureAwait(false);
            if (pupil.Status == "left") return pupil;
            await using (var update = Sql.Command(connection, transaction, "UPDATE pupils SET status = 'left', updated_at = now() WHERE id = $1", pupilId))
                await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await ChangeFeed.AppendAsync(connection, transaction, pupil.School, ChangeKinds.PupilLeave, new PupilLeaveData(pupilId),
                DownlinkJsonContext.Default.PupilLeaveData, ct).ConfigureAwait(false);
            return pupil with { Status = "left" };
        }, cancellationToken);

    /// <summary>Adds a guardian.</summary>
    public Task<GuardianView> AddGuardianAsync(GuardianRequest request, CancellationToken cancellationToken)
    {
        string fullName = Check.Text(request.FullName, "fullName");
        string? phone = Check.OptionalText(request.Phone, "phone", 32);
        return database.RunAsync("adding a guardian to", async (connection, ct) =>
        {
            await using var insert = Sql.Command(connection, null, "INSERT INTO guardians(full_name, phone) VALUES ($1, $2) RETURNING id", fullName, Sql.Nullable(phone));
            return new GuardianView((long)(await insert.ExecuteScalarAsync(ct).ConfigureAwait(false))!, fullName, phone);
        }, cancellationToken);
    }

    /// <summary>Links a guardian to a pupil (idempotent; a second call may change the relation).</summary>
    public Task<GuardianLinkView> LinkGuardianAsync(long guardianId, long pupilId, GuardianLinkRequest request, CancellationToken cancellationToken)
    {
        string relation = request.Relation ?? "parent";
        if (!s_relations.Contains(relation))
            throw CentreRequestException.Invalid("relation", $"relation '{Check.Show(relation)}' must be one of: {string.Join(", ", s_relations)}.");
        return database.InTransactionAsync("linking a guardian in", async (connection, transaction, ct) =>
        {
            await RequireGuardianAsync(connection, transaction, guardianId, ct).ConfigureAwait(false);
            await RequirePupilAsync(connection, transaction, pupilId, ct).ConfigureAwait(false);
            await using var link = Sql.Command(connection, transaction, """
                INSERT INTO guardian_pupils(guardian, pupil, relation) VALUES ($1, $2, $3)
                ON CONFLICT (guardian, pupil) DO UPDATE SET relation = excluded.relation
                """, guardianId, pupilId, relation);
            await link.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return new GuardianLinkView(guardianId, pupilId, relation);
        }, cancellationToken);
    }

    /// <summary>
    /// Issues a card to a pupil or a staff member, or changes its holder or status; the holder's school gets <c>card.upsert</c>
    /// (a staff card opens the gate in the windows of the holder's role). Moving a card to a holder of another school blocks it
    /// at the old one. Visitor cards stay with the school's office.
    /// </summary>
    public Task<(CardView Card, bool Created)> PutCardAsync(long cardNumber, CardRequest request, CancellationToken cancellationToken)
    {
        if (cardNumber is <= 0 or > uint.MaxValue)
            throw CentreRequestException.Invalid("cardNumber", $"cardNumber must be the card's number, 1–{uint.MaxValue} (got {cardNumber}).");
        string holderKind = request.HolderKind ?? "pupil";
        if (holderKind is not ("pupil" or "staff"))
            throw CentreRequestException.Invalid("holderKind", $"holderKind '{Check.Show(holderKind)}' must be 'pupil' or 'staff'; visitor cards are issued at the school's office.");
        long holderId = Check.Positive(request.HolderId, "holderId");
        string status = request.Status ?? "active";
        if (!s_cardStatuses.Contains(status))
            throw CentreRequestException.Invalid("status", $"status '{Check.Show(status)}' must be one of: {string.Join(", ", s_cardStatuses)}.");
        return database.InTransactionAsync("writing a card to", async (connection, transaction, ct) =>
        {
            var holder = await HolderAsync(connection, transaction, holderKind, holderId, ct).ConfigureAwait(false);
            if (holder.Status == "left" && status == "active")
                throw new CentreRequestException(RequestProblem.Conflict, "holderId",
                    $"{(holderKind == "pupil" ? "Pupil" : "Staff member")} {holderId} has left; an active card cannot be issued to them.");
            var before = await Sql.FirstAsync(Sql.Command(connection, transaction, CardWithSchool + " FOR UPDATE OF c", cardNumber),
                ReadCardAt, ct).ConfigureAwait(false);
            var card = new CardView(cardNumber, holderKind, holderId, status);
            if (before is { } b && b.Card == card) return (card, false);
            await using (var upsert = Sql.Command(connection, transaction, """
                INSERT INTO cards(card_number, holder_kind, holder_id, status) VALUES ($1, $2, $3, $4)
                ON CONFLICT (card_number) DO UPDATE SET holder_kind = excluded.holder_kind, holder_id = excluded.holder_id, status = excluded.status, updated_at = now()
                """, cardNumber, holderKind, holderId, status))
                await upsert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            if (before is { } old && old.School.Length > 0 && old.School != holder.School && old.Card.Status == "active")
                await ChangeFeed.AppendAsync(connection, transaction, old.School, ChangeKinds.CardBlock, new CardBlockData(cardNumber, "blocked"),
                    DownlinkJsonContext.Default.CardBlockData, ct).ConfigureAwait(false);
            await ChangeFeed.AppendAsync(connection, transaction, holder.School, ChangeKinds.CardUpsert, new CardData(cardNumber, holderKind, holderId, status),
                DownlinkJsonContext.Default.CardData, ct).ConfigureAwait(false);
            return (card, before is null);
        }, cancellationToken);
    }

    /// <summary>A card with the school of its holder (pupil or staff); cards have no foreign key since they may point at either.</summary>
    private const string CardWithSchool = """
        SELECT c.card_number, c.holder_kind, c.holder_id, c.status, COALESCE(p.school, s.school, '')
        FROM cards c
        LEFT JOIN pupils p ON c.holder_kind = 'pupil' AND p.id = c.holder_id
        LEFT JOIN staff s ON c.holder_kind = 'staff' AND s.id = c.holder_id
        WHERE c.card_number = $1
        """;

    private static CardAt ReadCardAt(NpgsqlDataReader r) => new(ReadCard(r), r.GetString(4));

    /// <summary>The school and status of a card's holder; a missing pupil is 404 (as before), a missing staff member names holderId.</summary>
    private static async Task<Holder> HolderAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string kind, long id, CancellationToken ct)
    {
        if (kind == "pupil")
        {
            var pupil = await RequirePupilAsync(connection, transaction, id, ct).ConfigureAwait(false);
            return new Holder(pupil.School, pupil.Status);
        }
        return await Sql.FirstAsync(Sql.Command(connection, transaction, "SELECT school, status FROM staff WHERE id = $1", id),
                r => new Holder(r.GetString(0), r.GetString(1)), ct).ConfigureAwait(false)
            ?? throw CentreRequestException.Invalid("holderId", $"No staff member {id} at the centre: add them first (POST /api/schools/{{school}}/staff) and use the staffId it returns.");
    }

    /// <summary>Blocks a card (<c>blocked</c> or <c>lost</c>) at its holder's school. Idempotent.</summary>
    public Task<CardView> BlockCardAsync(long cardNumber, CardBlockRequest request, CancellationToken cancellationToken)
    {
        string status = request.Status ?? "blocked";
        if (status is not ("blocked" or "lost"))
            throw CentreRequestException.Invalid("status", $"status '{Check.Show(status)}' must be 'blocked' or 'lost'.");
        return database.InTransactionAsync("blocking a card in", async (connection, transaction, ct) =>
        {
            var found = await Sql.FirstAsync(Sql.Command(connection, transaction, CardWithSchool + " FOR UPDATE OF c", cardNumber), ReadCardAt, ct).ConfigureAwait(false)
                ?? throw CentreRequestException.NotFound($"No card {cardNumber} is registered at the centre.");
            if (found.Card.Status == status) return found.Card;
            await using (var update = Sql.Command(connection, transaction, "UPDATE cards SET status = $2, updated_at = now() WHERE card_number = $1", cardNumber, status))
                await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await ChangeFeed.AppendAsync(connection, transaction, found.School, ChangeKinds.CardBlock, new CardBlockData(cardNumber, status),
                DownlinkJsonContext.Default.CardBlockData, ct).ConfigureAwait(false);
            return found.Card with { Status = status };
        }, cancellationToken);
    }

    /// <summary>A card; 404 when unknown.</summary>
    public Task<CardView> GetCardAsync(long cardNumber, CancellationToken cancellationToken) =>
        database.RunAsync("reading a card from", async (connection, ct) =>
            await Sql.FirstAsync(Sql.Command(connection, null, "SELECT card_number, holder_kind, holder_id, status FROM cards WHERE card_number = $1", cardNumber),
                ReadCard, ct).ConfigureAwait(false)
            ?? throw CentreRequestException.NotFound($"No card {cardNumber} is registered at the centre."), cancellationToken);

    internal static async Task RequireSchoolAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string school, CancellationToken ct)
    {
        await using var find = Sql.Command(connection, transaction, "SELECT 1 FROM schools WHERE id = $1", school);
        if (await find.ExecuteScalarAsync(ct).ConfigureAwait(false) is null)
            throw CentreRequestException.NotFound($"School {school} is not registered: register it first (PUT /api/schools/{school}).");
    }

    internal static async Task<PupilView> RequirePupilAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long pupilId, CancellationToken ct,
        bool forUpdate = false) =>
        await Sql.FirstAsync(Sql.Command(connection, transaction, $"SELECT {PupilColumns} FROM pupils WHERE id = $1" + (forUpdate ? " FOR UPDATE" : ""), pupilId),
            ReadPupil, ct).ConfigureAwait(false)
        ?? throw CentreRequestException.NotFound($"No pupil {pupilId} at the centre: check the pupil ID.");

    internal static async Task RequireGuardianAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long guardianId, CancellationToken ct)
    {
        await using var find = Sql.Command(connection, transaction, "SELECT 1 FROM guardians WHERE id = $1", guardianId);
        if (await find.ExecuteScalarAsync(ct).ConfigureAwait(false) is null)
            throw CentreRequestException.NotFound($"No guardian {guardianId} at the centre: add them first (POST /api/guardians).");
    }

    private static async Task<string> SchoolOfClassAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long classId, CancellationToken ct)
    {
        await using var find = Sql.Command(connection, transaction, "SELECT school FROM classes WHERE id = $1 AND removed_at IS NULL", classId);
        return await find.ExecuteScalarAsync(ct).ConfigureAwait(false) as string
            ?? throw CentreRequestException.Invalid("classId", $"No class {classId} (or it was removed): create the class first (POST /api/schools/{{school}}/classes) and use the classId it returns.");
    }

    private static Task<List<CardView>> CardsOfAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long pupilId, CancellationToken ct) =>
        Sql.ListAsync(Sql.Command(connection, transaction,
            "SELECT card_number, holder_kind, holder_id, status FROM cards WHERE holder_kind = 'pupil' AND holder_id = $1 AND status = 'active' ORDER BY card_number",
            pupilId), ReadCard, ct);

    /// <summary>A random ID in [10^14, 9·10^14): 15 digits, exact in JavaScript, revealing neither enrolment order nor counts.</summary>
    private static long NewPupilId()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        return 100_000_000_000_000L + (long)(BitConverter.ToUInt64(bytes) % 800_000_000_000_000UL);
    }

    /// <summary>"Айгерим Сейтқали" → "Айгерим С.": enough for a guard's screen, not a full name.</summary>
    internal static string DisplayNameOf(string fullName)
    {
        var words = fullName.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return words.Length > 1 ? $"{words[0]} {words[1][0]}." : words[0];
    }

    private sealed record Written(long Id, bool Inserted);

    private sealed record CardAt(CardView Card, string School);

    private sealed record ClassAt(ClassView View, bool Removed);

    private sealed record Holder(string School, string Status);

    private static SchoolView ReadSchool(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.OptionalTime(3), r.GetInt64(4), r.GetInt64(5));

    private static PupilView ReadPupil(NpgsqlDataReader r) =>
        new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4), r.GetString(5), r.OptionalInt64(6));

    private static CardView ReadCard(NpgsqlDataReader r) => new(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetString(3));
}
