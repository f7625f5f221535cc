using System.Globalization;
using System.Text.Json;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Consent;

namespace Kezekshi.Edge.Agent.Sync;

/// <summary>
/// Consent changes from the centre (a parent revoking through the parents' portal, a pupil leaving) applied to the
/// school's biometric store: a revocation removes the pupil's templates from the in-memory index at once and from disk,
/// with a deletion receipt, and the purge is confirmed to the centre in the acknowledgement. Consents themselves are
/// recorded at the school office; one granted at the centre is recorded here with the centre as its operator.
/// </summary>
public sealed class BiometricsHandlers(ConsentService consents, Func<long, int> templatesOf) : IDownlinkHandler
{
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
                default:
                    // Templates are enrolled at the school from the pupil's own images; receiving templates enrolled elsewhere
                    // needs the school key exchange (docs/sync-protocol.md §5.1), which is not built.
                    throw new DownlinkRejection($"{change.Kind} is not supported by this agent: templates are enrolled at the school");
            }
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
