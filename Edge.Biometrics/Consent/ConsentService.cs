using System.Globalization;
using Kezekshi.Edge.Biometrics.Audit;
using Kezekshi.Edge.Biometrics.Index;
using Kezekshi.Edge.Biometrics.Storage;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Biometrics.Consent;

/// <summary>
/// Records consents, objections and revocations in biometrics.db and keeps the index's purpose
/// masks equal to <see cref="ConsentPolicy.EffectiveMask"/>. The only writer of purpose masks.
/// </summary>
/// <remarks>
/// Deletion order on revocation: memory first (the next search already cannot match the pupil),
/// then one transaction deletes the rows, writes the receipt, queues the outgoing event and appends
/// the audit row. If the disk part fails the pupil stays out of memory (fail closed) and the error
/// says to retry.
/// </remarks>
public sealed class ConsentService
{
    private readonly TemplateStore _store;
    private readonly EmbeddingIndex _index;
    private readonly AuditLog _audit;
    private readonly TimeProvider _time;

    public ConsentService(TemplateStore store, EmbeddingIndex index, AuditLog audit, TimeProvider? time = null)
    {
        _store = store;
        _index = index;
        _audit = audit;
        _time = time ?? TimeProvider.System;
    }

    private BiometricsDatabase Database => _store.Database;

    /// <summary>Records a guardian's consent and pushes the pupil's new mask into the index.</summary>
    public long RecordGrant(ConsentGrant grant)
    {
        ConsentPolicy.Validate(grant);
        using var connection = Database.Connect();
        using var transaction = connection.BeginTransaction(deferred: false);
        long id = InsertGrant(connection, transaction, grant);
        _audit.Append(connection, transaction, new AuditEntry(grant.Operator, "consent", "consent-grant", Subject(grant.PupilId),
            $"consent {id} from guardian {grant.GuardianId}: {grant.Purposes}, until {grant.ExpiresAt:yyyy-MM-dd}, document {grant.DocumentSha256}, no-cross-border {grant.NoCrossBorder}"));
        transaction.Commit();
        Push(grant.PupilId);
        return id;
    }

    /// <summary>
    /// Records an objection (by a guardian or the pupil). It blocks every purpose at once and deletes
    /// the pupil's templates: there is no lawful ground to keep them.
    /// </summary>
    public DeletionReceipt RecordObjection(Objection objection)
    {
        ArgumentNullException.ThrowIfNull(objection);
        if (!objection.ByPupil && string.IsNullOrWhiteSpace(objection.GuardianId))
            throw new ConsentException($"An objection for pupil {objection.PupilId} must say which guardian objects, or that the pupil objects.");
        _index.SetPurposes(objection.PupilId, BiometricPurpose.None);
        _index.RemovePupil(objection.PupilId);
        using var connection = Database.Connect();
        using var transaction = connection.BeginTransaction(deferred: false);
        using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO objections (pupil_id, by_pupil, guardian_id, recorded_at, operator, note) VALUES ($p, $byPupil, $g, $at, $op, $note)";
            insert.Parameters.AddWithValue("$p", objection.PupilId);
            insert.Parameters.AddWithValue("$byPupil", objection.ByPupil ? 1 : 0);
            insert.Parameters.AddWithValue("$g", (object?)objection.GuardianId ?? DBNull.Value);
            insert.Parameters.AddWithValue("$at", Now());
            insert.Parameters.AddWithValue("$op", objection.Operator);
            insert.Parameters.AddWithValue("$note", objection.Note);
            insert.ExecuteNonQuery();
        }
        string who = objection.ByPupil ? "the pupil" : $"guardian {objection.GuardianId}";
        var receipt = _store.Delete(connection, transaction, objection.PupilId, null, $"objection by {who}", objection.Operator);
        transaction.Commit();
        return receipt;
    }

    /// <summary>Lifts the pupil's active objections (e.g. the guardian withdrew it in writing). Templates deleted before stay deleted.</summary>
    public void LiftObjections(long pupilId, string operatorName, string note)
    {
        using var connection = Database.Connect();
        using var transaction = connection.BeginTransaction(deferred: false);
        using (var update = connection.CreateCommand())
        {
            update.Transaction = transaction;
            update.CommandText = "UPDATE objections SET lifted_at = $at WHERE pupil_id = $p AND lifted_at IS NULL";
            update.Parameters.AddWithValue("$at", Now());
            update.Parameters.AddWithValue("$p", pupilId);
            update.ExecuteNonQuery();
        }
        _audit.Append(connection, transaction, new AuditEntry(operatorName, "consent", "objection-lift", Subject(pupilId), note));
        transaction.Commit();
        Push(pupilId);
    }

    /// <summary>
    /// Withdraws consent. When Access no longer remains (withdrawing everything, or Access itself),
    /// the pupil's templates are removed from memory at once and deleted from disk with a receipt and
    /// a queued event; otherwise only the mask shrinks. Returns the receipt when something was deleted.
    /// </summary>
    public DeletionReceipt? Revoke(Revocation revocation)
    {
        ArgumentNullException.ThrowIfNull(revocation);
        if (revocation.Purposes == BiometricPurpose.None)
            throw new ConsentException($"The revocation for pupil {revocation.PupilId} names no purpose. Withdraw all purposes, or the ones the guardian crossed out.");
        var now = _time.GetUtcNow();
        var remainingMask = EffectiveMaskAfter(revocation, now);
        bool delete = (remainingMask & BiometricPurpose.Access) == 0;
        if (delete)
        {
            // Memory first: from this line on no search can return the pupil.
            _index.SetPurposes(revocation.PupilId, BiometricPurpose.None);
            _index.RemovePupil(revocation.PupilId);
        }
        using var connection = Database.Connect();
        using var transaction = connection.BeginTransaction(deferred: false);
        foreach (var (id, grant) in ActiveGrants(connection, transaction, revocation.PupilId))
        {
            if (revocation.GuardianId is not null && grant.GuardianId != revocation.GuardianId)
                continue;
            if ((grant.Purposes & revocation.Purposes) == 0)
                continue;
            using var withdraw = connection.CreateCommand();
            withdraw.Transaction = transaction;
            withdraw.CommandText = "UPDATE consents SET withdrawn_at = $at WHERE id = $id";
            withdraw.Parameters.AddWithValue("$at", now.ToString("O", CultureInfo.InvariantCulture));
            withdraw.Parameters.AddWithValue("$id", id);
            withdraw.ExecuteNonQuery();
            var rest = grant.Purposes & ~revocation.Purposes;
            // The rest of the same form stays in force: a new row keeps the history of what was withdrawn when.
            if (rest != BiometricPurpose.None)
                InsertGrant(connection, transaction, grant with { Purposes = rest, Operator = revocation.Operator });
        }
        _audit.Append(connection, transaction, new AuditEntry(revocation.Operator, "consent", "consent-withdraw", Subject(revocation.PupilId),
            $"{revocation.Purposes} withdrawn by {revocation.GuardianId ?? "all guardians"}: {revocation.Reason}"));
        DeletionReceipt? receipt = delete ? _store.Delete(connection, transaction, revocation.PupilId, null, $"consent withdrawn: {revocation.Reason}", revocation.Operator) : null;
        transaction.Commit();
        if (!delete)
            Push(revocation.PupilId);
        return receipt;
    }

    /// <summary>The pupil's effective purposes now, from the stored consents and objections.</summary>
    public BiometricPurpose EffectiveMask(long pupilId)
    {
        using var connection = Database.Connect();
        using var transaction = connection.BeginTransaction();
        return Mask(connection, transaction, pupilId, _time.GetUtcNow());
    }

    /// <summary>Effective masks of every pupil with a consent or objection (for the start-up load).</summary>
    /// <remarks>Two queries for the whole school, not two per pupil: this runs before the gate can match anyone.</remarks>
    public IReadOnlyDictionary<long, BiometricPurpose> AllMasks()
    {
        var now = _time.GetUtcNow();
        using var connection = Database.Connect();
        using var transaction = connection.BeginTransaction();
        var grants = new Dictionary<long, List<ConsentGrant>>();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT pupil_id, given_at, purposes, expires_at FROM consents WHERE withdrawn_at IS NULL";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                long pupil = reader.GetInt64(0);
                if (!grants.TryGetValue(pupil, out var list))
                    grants[pupil] = list = [];
                list.Add(new ConsentGrant(pupil, "", "", DateTimeOffset.Parse(reader.GetString(1), CultureInfo.InvariantCulture), "", (BiometricPurpose)reader.GetInt32(2),
                    DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture), "", false));
            }
        }
        var objections = new Dictionary<long, int>();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT pupil_id, COUNT(*) FROM objections WHERE lifted_at IS NULL GROUP BY pupil_id";
            using var reader = command.ExecuteReader();
            while (reader.Read())
                objections[reader.GetInt64(0)] = reader.GetInt32(1);
        }
        return grants.Keys.Union(objections.Keys).ToDictionary(
            pupil => pupil,
            pupil => ConsentPolicy.EffectiveMask(grants.GetValueOrDefault(pupil) ?? [], objections.GetValueOrDefault(pupil), now));
    }

    /// <summary>Recomputes every pupil's mask (consents expire with time) and pushes the changed ones. Returns how many changed.</summary>
    public int RefreshAll()
    {
        int changed = 0;
        foreach (var (pupil, mask) in AllMasks())
        {
            if (_index.PurposesOf(pupil) == mask)
                continue;
            _index.SetPurposes(pupil, mask);
            changed++;
        }
        return changed;
    }

    /// <summary>Whether the pupil has an active objection (enrolment refuses then).</summary>
    public bool HasActiveObjection(long pupilId)
    {
        using var connection = Database.Connect();
        using var transaction = connection.BeginTransaction();
        return ActiveObjections(connection, transaction, pupilId) > 0;
    }

    private void Push(long pupilId) => _index.SetPurposes(pupilId, EffectiveMask(pupilId));

    private BiometricPurpose EffectiveMaskAfter(Revocation revocation, DateTimeOffset now)
    {
        using var connection = Database.Connect();
        using var transaction = connection.BeginTransaction();
        var grants = ActiveGrants(connection, transaction, revocation.PupilId)
            .Select(g => revocation.GuardianId is null || g.Grant.GuardianId == revocation.GuardianId ? g.Grant with { Purposes = g.Grant.Purposes & ~revocation.Purposes } : g.Grant);
        return ConsentPolicy.EffectiveMask(grants, ActiveObjections(connection, transaction, revocation.PupilId), now);
    }

    private static BiometricPurpose Mask(SqliteConnection connection, SqliteTransaction transaction, long pupilId, DateTimeOffset now) =>
        ConsentPolicy.EffectiveMask(ActiveGrants(connection, transaction, pupilId).Select(g => g.Grant), ActiveObjections(connection, transaction, pupilId), now);

    private static List<(long Id, ConsentGrant Grant)> ActiveGrants(SqliteConnection connection, SqliteTransaction transaction, long pupilId)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            SELECT id, guardian_id, guardian_name, given_at, document_sha256, purposes, expires_at, operator, no_cross_border
            FROM consents WHERE pupil_id = $p AND withdrawn_at IS NULL ORDER BY id
            """;
        command.Parameters.AddWithValue("$p", pupilId);
        using var reader = command.ExecuteReader();
        var grants = new List<(long, ConsentGrant)>();
        while (reader.Read())
            grants.Add((reader.GetInt64(0), new ConsentGrant(pupilId, reader.GetString(1), reader.GetString(2), DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture),
                reader.GetString(4), (BiometricPurpose)reader.GetInt32(5), DateTimeOffset.Parse(reader.GetString(6), CultureInfo.InvariantCulture), reader.GetString(7), reader.GetInt32(8) == 1)));
        return grants;
    }

    private static int ActiveObjections(SqliteConnection connection, SqliteTransaction transaction, long pupilId)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COUNT(*) FROM objections WHERE pupil_id = $p AND lifted_at IS NULL";
        command.Parameters.AddWithValue("$p", pupilId);
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private long InsertGrant(SqliteConnection connection, SqliteTransaction transaction, ConsentGrant grant)
    {
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO consents (pupil_id, guardian_id, guardian_name, given_at, document_sha256, purposes, expires_at, operator, no_cross_border, recorded_at)
            VALUES ($p, $g, $name, $given, $doc, $purposes, $expires, $op, $ncb, $at) RETURNING id
            """;
        insert.Parameters.AddWithValue("$p", grant.PupilId);
        insert.Parameters.AddWithValue("$g", grant.GuardianId);
        insert.Parameters.AddWithValue("$name", grant.GuardianName);
        insert.Parameters.AddWithValue("$given", grant.GivenAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        insert.Parameters.AddWithValue("$doc", grant.DocumentSha256.ToLowerInvariant());
        insert.Parameters.AddWithValue("$purposes", (int)grant.Purposes);
        insert.Parameters.AddWithValue("$expires", grant.ExpiresAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        insert.Parameters.AddWithValue("$op", grant.Operator);
        insert.Parameters.AddWithValue("$ncb", grant.NoCrossBorder ? 1 : 0);
        insert.Parameters.AddWithValue("$at", Now());
        return Convert.ToInt64(insert.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private string Now() => _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);

    private static string Subject(long pupilId) => string.Create(CultureInfo.InvariantCulture, $"pupil:{pupilId}");
}
