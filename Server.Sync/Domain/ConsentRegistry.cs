using System.Security.Cryptography;
using Kezekshi.Server.Sync.Store;
using Npgsql;
using NpgsqlTypes;

namespace Kezekshi.Server.Sync.Domain;

/// <summary>
/// Consents for processing a pupil's data, their revocation and objection, and where the pupil's templates were sent
/// (template placements). A revocation reaches every school holding the pupil's templates plus the current school.
/// </summary>
/// <remarks>
/// Purposes are a closed list without marketing (the consent table's CHECK repeats the rule). The signed form itself
/// stays where it was signed; the centre keeps its SHA-256 so the record can be matched to the paper.
/// </remarks>
public sealed class ConsentRegistry(CentreDatabase database, TimeProvider? clock = null)
{
    /// <summary>Purposes a consent may cover. There is no marketing purpose, and none can be added through the API.</summary>
    public static readonly IReadOnlyList<string> Purposes = ["access", "attendance", "safety", "canteen-payment", "library"];

    /// <summary>How long a school has to purge templates after a revocation reaches it (the <c>purgeBy</c> of <c>consent.revoke</c>).</summary>
    public static readonly TimeSpan PurgeWithin = TimeSpan.FromHours(24);

    private const string Columns = "id, pupil, given_by_kind, given_by, purposes, status, document_sha256, expires_at, operator, no_cross_border, granted_at, ended_at";

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>Records a consent and sends it to the pupil's school. Repeating it with the same <c>consentId</c> and content is harmless.</summary>
    public Task<(ConsentView Consent, bool Created)> GrantAsync(ConsentRequest request, CancellationToken cancellationToken)
    {
        long pupilId = Check.Positive(request.PupilId, "pupilId");
        string consentId = request.ConsentId is null ? NewConsentId() : Check.Id(request.ConsentId, "consentId");
        string givenBy = request.GivenBy ?? "";
        if (givenBy is not ("guardian" or "pupil"))
            throw CentreRequestException.Invalid("givenBy", $"givenBy '{Check.Show(givenBy)}' must be 'guardian' (with guardianId) or 'pupil'.");
        long? guardianId = givenBy == "guardian" ? Check.Positive(request.GuardianId, "guardianId") : null;
        if (givenBy == "pupil" && request.GuardianId is not null)
            throw CentreRequestException.Invalid("guardianId", "guardianId must be absent when givenBy is 'pupil'.");
        var purposes = CheckPurposes(request.Purposes);
        string hash = (request.DocumentSha256 ?? "").ToLowerInvariant();
        if (hash.Length != 64 || !hash.All(char.IsAsciiHexDigit))
            throw CentreRequestException.Invalid("documentSha256", "documentSha256 must be the SHA-256 of the signed form: 64 hexadecimal characters (sha256sum form.pdf).");
        string operatorName = Check.Text(request.Operator, "operator", 100);
        if (request.ExpiresAt is { } expires && expires <= _clock.GetUtcNow())
            throw CentreRequestException.Invalid("expiresAt", $"expiresAt {expires:O} is in the past: a consent must expire in the future, or leave expiresAt out.");
        bool noCrossBorder = request.NoCrossBorder ?? true;

        return database.InTransactionAsync("recording a consent in", async (connection, transaction, ct) =>
        {
            var pupil = await Roster.RequirePupilAsync(connection, transaction, pupilId, ct, forUpdate: true).ConfigureAwait(false);
            if (pupil.Status == "left")
                throw new CentreRequestException(RequestProblem.Conflict, "pupilId", $"Pupil {pupilId} has left; consents are recorded for enrolled pupils only.");
            if (guardianId is { } g)
            {
                await Roster.RequireGuardianAsync(connection, transaction, g, ct).ConfigureAwait(false);
                await using var linked = Sql.Command(connection, transaction, "SELECT 1 FROM guardian_pupils WHERE guardian = $1 AND pupil = $2", g, pupilId);
                if (await linked.ExecuteScalarAsync(ct).ConfigureAwait(false) is null)
                    throw CentreRequestException.Invalid("guardianId", $"Guardian {g} is not linked to pupil {pupilId}: link them first (PUT /api/guardians/{g}/pupils/{pupilId}).");
            }
            await using (var insert = Sql.Command(connection, transaction, """
                INSERT INTO consents(id, pupil, given_by_kind, given_by, purposes, status, document_sha256, expires_at, operator, no_cross_border)
                VALUES ($1, $2, $3, $4, $5, 'granted', $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING
                """, consentId, pupilId, givenBy, Sql.Nullable(guardianId, NpgsqlDbType.Bigint), purposes.ToArray(), hash,
                Sql.Nullable(request.ExpiresAt?.ToUniversalTime(), NpgsqlDbType.TimestampTz), operatorName, noCrossBorder))
            {
                if (await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                {
                    var existing = (await ReadAsync(connection, transaction, consentId, ct).ConfigureAwait(false))!;
                    if (existing.PupilId != pupilId || !existing.Purposes.SequenceEqual(purposes) || existing.DocumentSha256 != hash)
                        throw CentreRequestException.Conflict("consentId", $"Consent {consentId} is already recorded with another pupil, purposes or document: use a new consentId.");
                    return (existing, false);
                }
            }
            await ChangeFeed.AppendAsync(connection, transaction, pupil.School, ChangeKinds.ConsentGrant,
                new ConsentGrantData(consentId, pupilId, purposes, request.ExpiresAt), DownlinkJsonContext.Default.ConsentGrantData, ct).ConfigureAwait(false);
            var consent = (await ReadAsync(connection, transaction, consentId, ct).ConfigureAwait(false))!;
            return (consent with { SchoolsNotified = [pupil.School] }, true);
        }, cancellationToken);
    }

    /// <summary>
    /// Ends a consent (<c>revoked</c> by whoever gave it, or <c>objection</c> to processing) and sends <c>consent.revoke</c> to
    /// every school holding the pupil's templates and to the pupil's current school, in one transaction. Idempotent: an
    /// ended consent is returned as it is and nothing is sent again.
    /// </summary>
    public Task<ConsentView> EndAsync(string? consentId, string status, ConsentEndRequest request, CancellationToken cancellationToken)
    {
        string id = Check.Id(consentId, "consentId");
        if (status is not ("revoked" or "objection")) throw new ArgumentOutOfRangeException(nameof(status), status, "revoked or objection");
        string operatorName = Check.Text(request.Operator, "operator", 100);
        return database.InTransactionAsync("ending a consent in", async (connection, transaction, ct) =>
        {
            await using (var lockRow = Sql.Command(connection, transaction, "SELECT 1 FROM consents WHERE id = $1 FOR UPDATE", id))
            {
                if (await lockRow.ExecuteScalarAsync(ct).ConfigureAwait(false) is null)
                    throw CentreRequestException.NotFound($"No consent {id} at the centre: check the consent ID (GET /api/pupils/{{pupilId}}/consents lists them).");
            }
            var consent = (await ReadAsync(connection, transaction, id, ct).ConfigureAwait(false))!;
            if (consent.Status != "granted") return consent;

            var now = _clock.GetUtcNow();
            await using (var update = Sql.Command(connection, transaction, "UPDATE consents SET status = $2, ended_at = $3, ended_by = $4 WHERE id = $1",
                id, status, now, operatorName))
                await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);

            // Every school that was sent one of the pupil's templates, plus the school the pupil is in now; in one order
            // so that two revocations lock the schools' feed rows in the same sequence.
            var schools = await Sql.ListAsync(Sql.Command(connection, transaction, """
                SELECT school FROM template_placements WHERE pupil = $1
                UNION SELECT school FROM pupils WHERE id = $1
                ORDER BY 1
                """, consent.PupilId), r => r.GetString(0), ct).ConfigureAwait(false);
            var data = new ConsentRevokeData(id, consent.PupilId, consent.Purposes, now + PurgeWithin);
            foreach (string school in schools)
                await ChangeFeed.AppendAsync(connection, transaction, school, ChangeKinds.ConsentRevoke, data, DownlinkJsonContext.Default.ConsentRevokeData, ct).ConfigureAwait(false);
            return consent with { Status = status, EndedAt = now, SchoolsNotified = schools };
        }, cancellationToken);
    }

    /// <summary>A consent; 404 when unknown.</summary>
    public Task<ConsentView> GetAsync(string? consentId, CancellationToken cancellationToken)
    {
        string id = Check.Id(consentId, "consentId");
        return database.RunAsync("reading a consent from", async (connection, ct) =>
            await ReadAsync(connection, null, id, ct).ConfigureAwait(false) ?? throw CentreRequestException.NotFound($"No consent {id} at the centre."),
            cancellationToken);
    }

    /// <summary>The consents of a pupil, newest first.</summary>
    public Task<List<ConsentView>> ListAsync(long pupilId, CancellationToken cancellationToken) =>
        database.RunAsync("listing consents in", async (connection, ct) =>
        {
            await Roster.RequirePupilAsync(connection, null, pupilId, ct).ConfigureAwait(false);
            return await Sql.ListAsync(Sql.Command(connection, null, $"SELECT {Columns} FROM consents WHERE pupil = $1 ORDER BY granted_at DESC, id", pupilId),
                ReadConsent, ct).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>
    /// Sends an encrypted template to a school (<c>template.upsert</c>), which records the placement. Refused unless an
    /// active, unexpired consent of the pupil covers <c>access</c>.
    /// </summary>
    public Task<ChangeReceipt> SendTemplateAsync(long pupilId, TemplateRequest request, CancellationToken cancellationToken)
    {
        string templateId = Check.Id(request.TemplateId, "templateId");
        string school = Check.School(request.School);
        string consentId = Check.Id(request.ConsentId, "consentId");
        string alg = Check.Text(request.Alg, "alg", 64);
        if (alg != TemplateTransfers.SealAlgorithm)
            throw CentreRequestException.Invalid("alg", $"alg '{Check.Show(alg)}' is not {TemplateTransfers.SealAlgorithm}: schools open templates sealed that way only (docs/sync-protocol.md §5.3).");
        var data = new TemplateData(templateId, pupilId, Check.Text(request.Modality, "modality", 16), Check.Text(request.Model, "model", 64), request.Quality ?? 1f,
            Check.School(request.SourceSchool, "sourceSchool"), school, Check.Text(request.KeyId, "keyId", 64), alg, Base64(request.Epk, "epk", 400),
            Base64(request.Nonce, "nonce", 64), Base64(request.Ciphertext, "ciphertext", 64 * 1024), Base64(request.Tag, "tag", 64), null);
        if (data.Modality is not ("face" or "palm"))
            throw CentreRequestException.Invalid("modality", $"modality '{Check.Show(data.Modality)}' must be 'face' or 'palm'.");
        return database.InTransactionAsync("sending a template from", async (connection, transaction, ct) =>
        {
            var pupil = await Roster.RequirePupilAsync(connection, transaction, pupilId, ct).ConfigureAwait(false);
            if (pupil.Status == "left")
                throw new CentreRequestException(RequestProblem.Conflict, "pupilId", $"Pupil {pupilId} has left; no templates are sent for them.");
            await Roster.RequireSchoolAsync(connection, transaction, school, ct).ConfigureAwait(false);
            var consent = await ReadAsync(connection, transaction, consentId, ct, forShare: true).ConfigureAwait(false);
            if (consent is null || consent.PupilId != pupilId || consent.Status != "granted" || !consent.Purposes.Contains("access")
                || consent.ExpiresAt is { } expires && expires <= _clock.GetUtcNow())
                throw CentreRequestException.Invalid("consentId", $"Consent {consentId} is not an active consent of pupil {pupilId} covering 'access': record one first (POST /api/consents).");
            long version = await ChangeFeed.AppendAsync(connection, transaction, school, ChangeKinds.TemplateUpsert, data,
                DownlinkJsonContext.Default.TemplateData, ct).ConfigureAwait(false);
            return new ChangeReceipt(ChangeKinds.TemplateUpsert, [new SchoolVersion(school, version)]);
        }, cancellationToken);
    }

    /// <summary>Where the pupil's templates were sent.</summary>
    public Task<List<PlacementView>> PlacementsAsync(long pupilId, CancellationToken cancellationToken) =>
        database.RunAsync("listing template placements in", async (connection, ct) =>
        {
            await Roster.RequirePupilAsync(connection, null, pupilId, ct).ConfigureAwait(false);
            return await Sql.ListAsync(Sql.Command(connection, null,
                "SELECT template_id, pupil, school, version FROM template_placements WHERE pupil = $1 ORDER BY school, template_id", pupilId),
                r => new PlacementView(r.GetString(0), r.GetInt64(1), r.GetString(2), r.GetInt64(3)), ct).ConfigureAwait(false);
        }, cancellationToken);

    private static List<string> CheckPurposes(IReadOnlyList<string>? purposes)
    {
        if (purposes is null || purposes.Count == 0)
            throw CentreRequestException.Invalid("purposes", $"purposes is required: one or more of {string.Join(", ", Purposes)}.");
        foreach (string p in purposes)
        {
            if (string.Equals(p, "marketing", StringComparison.OrdinalIgnoreCase))
                throw CentreRequestException.Invalid("purposes", "purposes: 'marketing' is never a purpose for pupils' data and cannot be consented to here.");
            if (!Purposes.Contains(p))
                throw CentreRequestException.Invalid("purposes", $"purposes: '{Check.Show(p)}' is not one of {string.Join(", ", Purposes)}.");
        }
        return Purposes.Where(purposes.Contains).ToList(); // canonical order, no duplicates
    }

    private static string Base64(string? value, string field, int max)
    {
        string text = Check.Text(value, field, max);
        Span<byte> scratch = new byte[text.Length];
        if (!Convert.TryFromBase64String(text, scratch, out _))
            throw CentreRequestException.Invalid(field, $"{field} is not base64.");
        return text;
    }

    private static string NewConsentId() => "cs-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    private static Task<ConsentView?> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string id, CancellationToken ct,
        bool forShare = false) =>
        Sql.FirstAsync(Sql.Command(connection, transaction, $"SELECT {Columns} FROM consents WHERE id = $1" + (forShare ? " FOR SHARE" : ""), id),
            ReadConsent, ct);

    private static ConsentView ReadConsent(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetInt64(1), r.GetString(2), r.OptionalInt64(3), r.GetFieldValue<string[]>(4), r.GetString(5), r.GetString(6),
            r.OptionalTime(7), r.GetString(8), r.GetBoolean(9), r.GetFieldValue<DateTimeOffset>(10), r.OptionalTime(11), []);
}
