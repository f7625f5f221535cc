using System.Security.Cryptography;
using Kezekshi.Server.Sync.Store;
using Npgsql;

namespace Kezekshi.Server.Sync.Domain;

/// <summary>
/// Deleting a pupil's templates at one school without touching their consents elsewhere (a parent asks that the face
/// template sent to the new school be deleted, say): the centre knows where it sent templates (template placements) and
/// sends <c>template.delete</c> for each to that school, which deletes it with a deletion receipt and confirms the purge in
/// <c>up/acks</c> under the deletion's id, as it does for a revocation.
/// </summary>
/// <remarks>
/// Purpose-clean: the centre reads only the placement and the clear fields of the <c>template.upsert</c> it relayed
/// (modality); it holds and sends no template data. Templates enrolled at the school itself were never placed by the
/// centre; they are deleted at the school, or everywhere by revoking the consent.
/// </remarks>
public sealed class TemplateDeletions(CentreDatabase database)
{
    /// <summary>Sends <c>template.delete</c> for the pupil's templates placed at <c>school</c>: one, those of a modality, or all.</summary>
    public Task<List<TemplateDeletionView>> DeleteAsync(long pupilId, TemplateDeleteRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (pupilId <= 0) throw CentreRequestException.Invalid("pupilId", $"pupilId must be a positive number (got {pupilId}).");
        string school = Check.School(request.School);
        string? templateId = request.TemplateId is null ? null : Check.Id(request.TemplateId, "templateId");
        string? modality = request.Modality;
        if (modality is not (null or "face" or "palm"))
            throw CentreRequestException.Invalid("modality", $"modality '{Check.Show(modality)}' must be 'face' or 'palm' (or leave it out to delete every template of the pupil at the school).");
        if (templateId is not null && modality is not null)
            throw CentreRequestException.Invalid("modality", "Give templateId or modality, not both: templateId names one template, modality all of that kind.");
        string reason = Check.OptionalText(request.Reason, "reason", 200) ?? "deletion requested at the centre";
        string operatorName = Check.Text(request.Operator, "operator", 100);
        return database.InTransactionAsync("deleting templates in", async (connection, transaction, ct) =>
        {
            await Roster.RequirePupilAsync(connection, transaction, pupilId, ct, forUpdate: true).ConfigureAwait(false);
            await Roster.RequireSchoolAsync(connection, transaction, school, ct).ConfigureAwait(false);
            // The modality is a clear field of the template.upsert that placed the template (its version is in the placement).
            var placed = await Sql.ListAsync(Sql.Command(connection, transaction, """
                SELECT p.template_id
                FROM template_placements p
                LEFT JOIN downlink_changes c ON c.school = p.school AND c.version = p.version
                WHERE p.pupil = $1 AND p.school = $2 AND ($3::text IS NULL OR p.template_id = $3) AND ($4::text IS NULL OR c.payload->>'modality' = $4)
                ORDER BY p.template_id
                FOR UPDATE OF p
                """, pupilId, school, Sql.Nullable(templateId), Sql.Nullable(modality)), r => r.GetString(0), ct).ConfigureAwait(false);
            if (placed.Count == 0)
                throw CentreRequestException.NotFound(
                    $"School {school} holds no {(templateId is not null ? $"template {templateId}" : modality is not null ? modality + " template" : "template")} of pupil {pupilId} sent by the centre "
                    + $"(GET /api/pupils/{pupilId}/placements lists them). Templates enrolled at the school itself are deleted there, or everywhere by revoking the consent.");
            var written = new List<TemplateDeletionView>(placed.Count);
            foreach (string template in placed)
            {
                string deletionId = "td-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
                long version = await ChangeFeed.AppendAsync(connection, transaction, school, ChangeKinds.TemplateDelete,
                    new TemplateDeleteData(deletionId, template, pupilId, reason), DownlinkJsonContext.Default.TemplateDeleteData, ct).ConfigureAwait(false);
                await using (var record = Sql.Command(connection, transaction,
                    "INSERT INTO template_deletions(id, pupil, school, template_id, reason, operator, version) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    deletionId, pupilId, school, template, reason, operatorName, version))
                    await record.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                // The school no longer holds it once it applies the change: a later revocation need not go there for this template.
                await using (var unplace = Sql.Command(connection, transaction, "DELETE FROM template_placements WHERE school = $1 AND template_id = $2", school, template))
                    await unplace.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                written.Add(new TemplateDeletionView(deletionId, pupilId, school, template, reason, operatorName, version, null, null));
            }
            return written;
        }, cancellationToken);
    }

    /// <summary>The pupil's template deletions with the school's purge confirmation when it has come.</summary>
    public Task<List<TemplateDeletionView>> ListAsync(long pupilId, CancellationToken cancellationToken) =>
        database.RunAsync("listing template deletions in", async (connection, ct) =>
        {
            await Roster.RequirePupilAsync(connection, null, pupilId, ct).ConfigureAwait(false);
            return await Sql.ListAsync(Sql.Command(connection, null, """
                SELECT d.id, d.pupil, d.school, d.template_id, d.reason, d.operator, d.version, c.purged_at, c.templates
                FROM template_deletions d LEFT JOIN purge_confirmations c ON c.school = d.school AND c.consent_id = d.id
                WHERE d.pupil = $1 ORDER BY d.requested_at, d.id
                """, pupilId), r => new TemplateDeletionView(r.GetString(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5),
                    r.GetInt64(6), r.OptionalTime(7), r.IsDBNull(8) ? null : r.GetInt32(8)), ct).ConfigureAwait(false);
        }, cancellationToken);
}
