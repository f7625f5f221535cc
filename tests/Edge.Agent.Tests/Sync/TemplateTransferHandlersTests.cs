using System.Globalization;
using System.Text.Json;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Sync;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Index;
using Kezekshi.Edge.Biometrics.Tests;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Agent.Tests.Sync;

/// <summary>
/// The two gate PCs of a transfer, each with its real edge.db and biometrics.db: the source answers
/// <c>template.export.request</c> with a sealed <c>template.export</c> outbox event; the target applies
/// <c>template.upsert</c> through its inbox, or rejects it into <c>inbox_rejections</c> with the reason.
/// </summary>
[Category("Integration")]
public class TemplateTransferHandlersTests
{
    private const long Pupil = 480112;

    private static string ExportRequest(string transferId, BiometricSchool target) => string.Create(CultureInfo.InvariantCulture,
        $$"""{"transferId":"{{transferId}}","pupilId":{{Pupil}},"targetSchool":"{{target.Id}}","targetKeyId":"{{target.Module.TransferKeys.KeyId}}","targetPublicKey":"{{Convert.ToBase64String(target.Module.TransferKeys.PublicKey)}}"}""");

    /// <summary>The templates of a <c>template.export</c> event as <c>template.upsert</c> data, as the centre relays them.</summary>
    private static (string Kind, string Data)[] AsUpserts(string exportPayload, Func<JsonElement, string>? edit = null)
    {
        using var document = JsonDocument.Parse(exportPayload);
        return document.RootElement.GetProperty("templates").EnumerateArray().Select(t => ("template.upsert", edit?.Invoke(t) ?? t.GetRawText())).ToArray();
    }

    private static (string, string) Consent(string id, params string[] purposes) =>
        ("consent.grant", $$"""{"consentId":"{{id}}","pupilId":{{Pupil}},"purposes":[{{string.Join(",", purposes.Select(p => $"\"{p}\""))}}]}""");

    [Test]
    public void An_export_request_is_answered_once_with_sealed_templates_that_the_target_applies_and_identifies()
    {
        using var a = new BiometricSchool("sch-a");
        using var b = new BiometricSchool("sch-b");
        var face = TestVectors.Unit(new Random(7), 16);
        Assert.That(a.Apply(1, Consent("cs-1", "access", "attendance")).Rejected, Is.Empty);
        a.Module.Enrolment(new PixelTemplateExtractor()).Enrol(Pupil, [PixelTemplateExtractor.Image(face, 0.9f), PixelTemplateExtractor.Image(face, 0.95f)], "office");

        var answered = a.Apply(2, ("template.export.request", ExportRequest("tr-1", b)));
        var repeated = a.Apply(2, ("template.export.request", ExportRequest("tr-1", b)));
        var exports = a.Outbox("template.export");
        Assert.That(answered.Rejected, Is.Empty);
        Assert.That(repeated.Status, Is.EqualTo(DownlinkStatus.AlreadyApplied));
        Assert.That(exports, Has.Count.EqualTo(1), "one answer per request, written with the applied version");
        using (var export = JsonDocument.Parse(exports[0].Payload))
        {
            Assert.That(export.RootElement.GetProperty("templates").GetArrayLength(), Is.EqualTo(2));
            Assert.That(export.RootElement.GetProperty("refused").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(exports[0].Payload, Does.Not.Contain("vector").And.Not.Contain("photo"));
        }

        Assert.That(b.Apply(1, Consent("cs-1", "access")).Rejected, Is.Empty);
        var received = b.Apply(2, AsUpserts(exports[0].Payload));
        Assert.That(received.Rejected, Is.Empty);
        Assert.That(b.Module.Store.Count(Pupil), Is.EqualTo(2));
        var space = new TemplateSpace(BiometricModality.Face, new PixelTemplateExtractor().ModelId);
        Assert.That(b.Module.Index.Identify(face, BiometricPurpose.Access, space).PupilId, Is.EqualTo(Pupil), "school B recognises the pupil");

        var revoked = b.Apply(4, ("consent.revoke", $$"""{"consentId":"cs-1","pupilId":{{Pupil}},"purposes":["access"],"purgeBy":"2026-11-22T07:40:00+05:00"}"""));
        Assert.That(revoked.Purged.Single().Templates, Is.EqualTo(2), "a revocation purges received templates and confirms it");
        Assert.That(b.Module.Store.Count(Pupil), Is.Zero);
    }

    [Test]
    public void Without_consent_at_the_target_or_with_a_tampered_or_misaddressed_template_the_change_is_rejected_with_its_reason()
    {
        using var a = new BiometricSchool("sch-a");
        using var b = new BiometricSchool("sch-b");
        a.Apply(1, Consent("cs-1", "access"));
        a.Module.Enrolment(new PixelTemplateExtractor()).Enrol(Pupil, [PixelTemplateExtractor.Image(TestVectors.Unit(new Random(9), 16), 0.9f)], "office");
        a.Apply(2, ("template.export.request", ExportRequest("tr-1", b)));
        string export = a.Outbox("template.export")[0].Payload;

        var noConsent = b.Apply(1, AsUpserts(export));
        Assert.That(noConsent.Rejected.Single().Reason, Does.Contain("no-consent"));
        Assert.That(b.Rejection(1), Does.Contain("no-consent"), "kept in inbox_rejections");

        b.Apply(2, Consent("cs-2", "access"));
        var tampered = b.Apply(3, AsUpserts(export, t =>
        {
            // Through a JSON node: the serialiser escapes '+' in base64, so a text replace would miss it.
            var bytes = Convert.FromBase64String(t.GetProperty("ciphertext").GetString()!);
            bytes[0] ^= 0x80;
            var node = System.Text.Json.Nodes.JsonNode.Parse(t.GetRawText())!;
            node["ciphertext"] = Convert.ToBase64String(bytes);
            return node.ToJsonString();
        }));
        var otherPupil = b.Apply(4, AsUpserts(export, t => t.GetRawText().Replace($"\"pupilId\":{Pupil}", $"\"pupilId\":{Pupil + 1}", StringComparison.Ordinal)));
        var elsewhere = b.Apply(5, AsUpserts(export, t => t.GetRawText().Replace("\"targetSchool\":\"sch-b\"", "\"targetSchool\":\"sch-c\"", StringComparison.Ordinal)));
        Assert.That(tampered.Rejected.Single().Reason, Does.Contain("tampered"));
        Assert.That(otherPupil.Rejected.Single().Reason, Does.Contain("tampered"));
        Assert.That(elsewhere.Rejected.Single().Reason, Does.Contain("wrong-school"));
        Assert.That(b.Module.Store.Count(), Is.Zero);

        var accepted = b.Apply(6, AsUpserts(export));
        Assert.That(accepted.Rejected, Is.Empty, "the untouched template is accepted once consent is recorded");
        Assert.That(b.Module.Store.Count(Pupil), Is.EqualTo(1));
    }

    [Test]
    public void A_source_without_consent_answers_refused_and_sends_no_template()
    {
        using var a = new BiometricSchool("sch-a");
        using var b = new BiometricSchool("sch-b");
        var outcome = a.Apply(1, ("template.export.request", ExportRequest("tr-9", b)));
        Assert.That(outcome.Rejected, Is.Empty);
        using var export = JsonDocument.Parse(a.Outbox("template.export").Single().Payload);
        Assert.That(export.RootElement.GetProperty("refused").GetString(), Does.Contain("no-consent"));
        Assert.That(export.RootElement.GetProperty("templates").GetArrayLength(), Is.Zero);
    }
}
