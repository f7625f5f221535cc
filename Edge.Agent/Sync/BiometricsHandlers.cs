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
public sealed class BiometricsHandlers(ConsentService consents, Func<long, int> templatesOf, TemplateTransfer? transfer = null) : IDownlinkHandler, ITemplateKeyAdvertiser
{
    /// <inheritdoc />
    public SchoolKeyPair? TemplateKeys => transfer?.Keys;

    public IReadOnlyCollection<string> Kinds { get; } = ["consent.grant", "consent.revoke", "pupil.leave", "template.upsert", "template.delete"];

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
                    consents.RecordGrant(new ConsentGrant(change.Long("pupilId"), "centre:" + consentId, "(recorded at the centre)", context.Now,
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
                    transfer.Delete(change.String("templateId", 100), "template withdrawn by the centre", "centre");
                    break;
                }
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
