using System.Globalization;
using System.Text.Json;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Storage;

namespace Kezekshi.Edge.Agent.Sync;

/// <summary>
/// Consent changes from the centre (a parent revoking through the parents' portal, a pupil leaving) applied to the
/// school's biometric store: a revocation removes the pupil's templates from the in-memory index at once and from disk,
/// with a deletion receipt, and the purge is confirmed to the centre in the acknowledgement. Consents themselves are
/// recorded at the school office; one granted at the centre is recorded here with the centre as its operator.
/// Templates enrolled at another school arrive sealed for this school's key (<c>template.upsert</c>, docs/sync-protocol.md
/// §5.3): opened with the school's private key, stored under its own at-rest key, and indexed only while a consent
/// recorded here covers access; otherwise, or when tampered or addressed elsewhere, rejected with the reason.
/// </summary>
/// <param name="transfer">Receiving templates from other schools; null: <c>template.upsert</c> is rejected (transfer not set up).</param>
/// <param name="database">The school's biometrics.db, read on <c>snapshot.end</c> for the consents recorded from the centre and the
/// pupils holding templates; null: a snapshot cannot reconcile consents here and its <c>snapshot.end</c> is reported rejected.</param>
public sealed class BiometricsHandlers(ConsentService consents, Func<long, int> templatesOf, TemplateTransfer? transfer = null, BiometricsDatabase? database = null)
    : IDownlinkHandler, ITemplateKeyAdvertiser
{
    /// <summary>How consents recorded from the centre are told apart from the school office's (their guardian id).</summary>
    internal const string CentrePrefix = "centre:";

    /// <inheritdoc />
    public SchoolKeyPair? TemplateKeys => transfer?.Keys;

    public IReadOnlyCollection<string> Kinds { get; } = ["consent.grant", "consent.revoke", "pupil.leave", "template.upsert", "template.delete", "snapshot.end"];

    public bool OwnTransaction => true;

    public void Apply(DownlinkChange change, DownlinkContext context)
    {
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            switch (change.Kind)
            {
                case "consent.grant":
                {
                    string consentId = change.String("consentId", 100);
                    var purposes = Purposes(change);
                    var expires = change.OptionalString("expiresAt") is { } e && DateTimeOffset.TryParse(e, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at)
                        ? at : context.Now.AddYears(1);
                    consents.RecordGrant(new ConsentGrant(change.Long("pupilId"), CentrePrefix + consentId, "(recorded at the centre)", context.Now,
                        change.OptionalString("documentSha256") ?? new string('0', 64), purposes, expires, "centre", NoCrossBorder: true));
                    break;
                }
                case "consent.revoke":
                {
                    long pupil = change.Long("pupilId");
                    string consentId = change.String("consentId", 100);
                    int before = templatesOf(pupil);
                    consents.Revoke(new Revocation(pupil, null, "centre", $"consent {consentId} revoked at the centre", Purposes(change)));
                    context.ReportPurge(consentId, before - templatesOf(pupil));
                    break;
                }
                case "pupil.leave":
                {
                    long pupil = change.Long("pupilId");
                    if (templatesOf(pupil) > 0) consents.Revoke(new Revocation(pupil, null, "centre", "the pupil left the school"));
                    break;
                }
                case "template.upsert":
                {
                    if (transfer is null)
                        throw new DownlinkRejection("template.upsert: this gate PC does not receive templates from other schools (biometrics without a transfer key); enrol the pupil here");
                    transfer.Receive(Sealed(change), "centre:transfer " + (change.OptionalString("transferId") ?? "(no id)"));
                    break;
                }
                case "template.delete":
                {
                    if (transfer is null) throw new DownlinkRejection("template.delete: this gate PC does not receive templates from other schools");
                    string reason = change.OptionalString("reason") is { Length: > 0 and <= 200 } r ? r : "template withdrawn by the centre";
                    bool deleted = transfer.Delete(change.String("templateId", 100), reason, "centre");
                    // Confirmed like a revocation's purge, under the deletion's id (0 templates: it was not held here, e.g. refused for want of consent).
                    if (change.OptionalString("deletionId") is { Length: > 0 and <= 100 } deletionId) context.ReportPurge(deletionId, deleted ? 1 : 0);
                    break;
                }
                case "snapshot.end":
                    EndSnapshot(change, context);
                    break;
                default:
                    throw new DownlinkRejection($"BiometricsHandlers does not apply {change.Kind}");
            }
        }
        catch (TemplateSealException e)
        {
            throw new DownlinkRejection(e.Message, e);
        }
        catch (BiometricsStoreException e)
        {
            throw new DownlinkRejection(e.Message, e);
        }
        catch (ConsentException e)
        {
            throw new DownlinkRejection(e.Message, e);
        }
        catch (ArgumentException e)
        {
            throw new DownlinkRejection(e.Message, e);
        }
    }

    /// <summary>
    /// After a snapshot (docs/sync-protocol.md §5.4): a consent recorded from the centre that the snapshot does not list is
    /// revoked, and a pupil neither listed nor covered by a listed consent loses their templates (as on <c>pupil.leave</c>);
    /// each purge is confirmed to the centre under the consent's id as a revocation's is. Consents recorded at the school
    /// office stay (the centre does not hold them). Idempotent: revoked consents are no longer active the second time.
    /// </summary>
    private void EndSnapshot(DownlinkChange change, DownlinkContext context)
    {
        if (database is null)
            throw new DownlinkRejection("snapshot.end: the biometrics handler was set up without biometrics.db, so consents from the centre were not reconciled; the roster was");
        var listedConsents = Strings(change, "consents");
        var listedPupils = Longs(change, "pupils");
        var active = new List<(long Pupil, string ConsentId)>();
        var withTemplates = new List<long>();
        using (var connection = database.Connect())
        {
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT DISTINCT pupil_id, guardian_id FROM consents WHERE withdrawn_at IS NULL AND guardian_id LIKE 'centre:%' ORDER BY pupil_id, guardian_id";
                using var reader = command.ExecuteReader();
                while (reader.Read()) active.Add((reader.GetInt64(0), reader.GetString(1)[CentrePrefix.Length..]));
            }
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT DISTINCT pupil_id FROM templates ORDER BY pupil_id";
                using var reader = command.ExecuteReader();
                while (reader.Read()) withTemplates.Add(reader.GetInt64(0));
            }
        }
        var keep = new HashSet<long>(listedPupils);
        foreach (var (pupil, consentId) in active)
        {
            if (listedConsents.Contains(consentId)) { keep.Add(pupil); continue; }
            int before = templatesOf(pupil);
            consents.Revoke(new Revocation(pupil, CentrePrefix + consentId, "centre", $"consent {consentId} is no longer held by the centre (snapshot)"));
            context.ReportPurge(consentId, before - templatesOf(pupil));
        }
        foreach (long pupil in withTemplates)
            if (!keep.Contains(pupil) && templatesOf(pupil) > 0)
                consents.Revoke(new Revocation(pupil, null, "centre", "the pupil is no longer at this school (snapshot from the centre)"));
    }

    private static HashSet<string> Strings(DownlinkChange change, string name)
    {
        if (!change.Data.TryGetProperty(name, out var list) || list.ValueKind != JsonValueKind.Array)
            throw new DownlinkRejection($"snapshot.end.{name} is missing or not an array; nothing was revoked");
        return list.EnumerateArray().Select(i => i.ValueKind == JsonValueKind.String ? i.GetString()! : throw new DownlinkRejection($"snapshot.end.{name} holds a non-string"))
            .ToHashSet(StringComparer.Ordinal);
    }

    private static List<long> Longs(DownlinkChange change, string name)
    {
        if (!change.Data.TryGetProperty(name, out var list) || list.ValueKind != JsonValueKind.Array)
            throw new DownlinkRejection($"snapshot.end.{name} is missing or not an array; nothing was revoked");
        return list.EnumerateArray().Select(i => i.ValueKind == JsonValueKind.Number && i.TryGetInt64(out long v) ? v : throw new DownlinkRejection($"snapshot.end.{name} holds a non-integer")).ToList();
    }

    /// <summary>The fields of a <c>template.upsert</c> (docs/sync-protocol.md §5.3); a missing one is a rejection naming it.</summary>
    private static SealedTemplate Sealed(DownlinkChange change)
    {
        float quality = change.Data.TryGetProperty("quality", out var q) && q.ValueKind == JsonValueKind.Number ? q.GetSingle() : 1f;
        return new SealedTemplate(change.String("templateId", 100), change.Long("pupilId"), change.String("modality", 16), change.String("model", 64), quality,
            change.String("sourceSchool", 40), change.String("targetSchool", 40), change.String("keyId", 64), change.String("alg", 64),
            change.String("epk", 400), change.String("nonce", 64), change.String("ciphertext", 64 * 1024), change.String("tag", 64));
    }

    private static BiometricPurpose Purposes(DownlinkChange change)
    {
        if (!change.Data.TryGetProperty("purposes", out var list) || list.ValueKind != JsonValueKind.Array)
            return ConsentPolicy.AllowedPurposes;
        var mask = BiometricPurpose.None;
        foreach (var item in list.EnumerateArray())
        {
            string? name = item.GetString();
            mask |= PurposeNames.Parse(name)
                ?? throw new DownlinkRejection($"{change.Kind}.purposes has \"{name}\"; a biometric purpose is one of {string.Join(", ", PurposeNames.All.Select(p => p.Name))}");
        }
        return mask;
    }
}
