using System.Text.Json;
using System.Text.Json.Serialization;
using Kezekshi.Edge.Agent.Ledgers;
using Kezekshi.Edge.Biometrics.Storage;

namespace Kezekshi.Edge.Agent.Sync;

/// <summary>A handler whose school can receive sealed templates: its public key goes to the centre in <c>hello</c>.</summary>
public interface ITemplateKeyAdvertiser
{
    /// <summary>The school's transfer key pair, or null when templates are not received here.</summary>
    SchoolKeyPair? TemplateKeys { get; }
}

/// <summary>
/// The source half of a template transfer (docs/sync-protocol.md §5.3): the centre asks this school
/// (<c>template.export.request</c>) to seal a pupil's templates for another school's public key; the sealed templates go
/// up as one <c>template.export</c> event, written to the outbox in the same transaction that records the change as
/// applied, so each request is answered exactly once. The centre only relays the ciphertext.
/// </summary>
/// <remarks>
/// A request this school must refuse (no consent covering access here, an unusable key) is still answered, with
/// <c>refused</c> and no templates, so the centre can close the transfer and tell the administrator why.
/// </remarks>
public sealed class TemplateExportHandlers(TemplateTransfer transfer) : IDownlinkHandler
{
    public const string EventType = "template.export";

    /// <summary>At most this many templates leave in one event (a pupil has a handful; keeps the event far below 256 KiB).</summary>
    public const int MaxTemplates = 40;

    public IReadOnlyCollection<string> Kinds { get; } = ["template.export.request"];

    public void Apply(DownlinkChange change, DownlinkContext context)
    {
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(context);
        string transferId = change.String("transferId", 64);
        long pupil = change.Long("pupilId");
        string target = change.String("targetSchool", 40);
        string keyId = change.String("targetKeyId", 64);
        byte[] publicKey;
        try
        {
            publicKey = Convert.FromBase64String(change.String("targetPublicKey", 400));
        }
        catch (FormatException e)
        {
            throw new DownlinkRejection("template.export.request.targetPublicKey is not base64", e);
        }
        IReadOnlyList<SealedTemplate> templates = [];
        string? refused = null;
        if (SchoolKeyPair.ProblemWith(publicKey) is { } problem) refused = $"wrong-key: school {target}'s public key is unusable ({problem})";
        else if (SchoolKeyPair.KeyIdOf(publicKey) != keyId) refused = $"wrong-key: the public key sent for {target} is not key {keyId}";
        else
        {
            try
            {
                templates = transfer.Export(pupil, target, publicKey, "centre:transfer " + transferId);
                if (templates.Count > MaxTemplates) templates = templates.Take(MaxTemplates).ToList();
            }
            catch (TemplateSealException e)
            {
                refused = e.Message;
            }
            catch (BiometricsStoreException e)
            {
                // A template this school cannot read itself (damaged row, wrong key file) is not sent; the centre shows why.
                refused = $"unreadable: {e.Message}";
            }
        }
        var payload = new TemplateExportEvent(1, transferId, pupil, transfer.School, target, keyId, [.. templates], refused);
        LedgerOutbox.Append(context.Connection, context.Transaction, EventType, 1,
            JsonSerializer.Serialize(payload, TemplateExportJsonContext.Default.TemplateExportEvent), context.Now);
    }
}

/// <summary>
/// Payload of the uplink <c>template.export</c> event, schema 1: the sealed templates of one transfer, or why this school
/// refused it. No image, no plaintext vector.
/// </summary>
public sealed record TemplateExportEvent(int SchemaVersion, string TransferId, long PupilId, string SourceSchool, string TargetSchool, string TargetKeyId,
    List<SealedTemplate> Templates, string? Refused);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(TemplateExportEvent))]
internal sealed partial class TemplateExportJsonContext : JsonSerializerContext;
