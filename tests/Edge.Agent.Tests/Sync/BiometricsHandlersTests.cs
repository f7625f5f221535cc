using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Sync;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Index;
using Kezekshi.Edge.Biometrics.Tests;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Agent.Tests.Sync;

/// <summary>A parent's revocation at the centre reaches the gate PC: templates leave memory and disk, and the purge is confirmed.</summary>
[Category("Integration")]
public class BiometricsHandlersTests
{
    [Test]
    public void A_revocation_from_the_centre_purges_the_templates_and_is_confirmed()
    {
        using var dir = new TempDirectory();
        var database = EdgeDatabase.Open(dir.File("edge.db"));
        var time = new ManualTime();
        using var module = BiometricsModule.Open(new BiometricsOptions
        {
            Enabled = true,
            Dpia = new DpiaRecord { Reference = "DPIA-2026-07", ApprovedBy = "head teacher", ApprovedOn = new DateOnly(2026, 8, 20) },
            Match = new MatchPolicy { AcceptThreshold = 0.8f, Margin = 0.05f },
        }, dir.Path, time);
        var applier = new DownlinkApplier(database,
            [new RosterHandlers(), new BiometricsHandlers(module.Consents, pupil => module.Store.Count(pupil))], "sch-0001", "almaty", NullLogger.Instance, time);

        var granted = applier.Apply(DownlinkApplierTests.Changes(1,
            ("class.upsert", """{"classId":73,"name":"5B","grade":5}"""),
            ("pupil.upsert", """{"pupilId":480112,"classId":73,"displayName":"Aigerim S."}"""),
            ("consent.grant", """{"consentId":"cs-1","pupilId":480112,"purposes":["access","attendance"]}"""),
            ("consent.grant", """{"consentId":"cs-2","pupilId":480112,"purposes":["marketing"]}""")));
        Assert.That(granted.Rejected.Select(r => r.Version), Is.EqualTo(new long[] { 4 }), "there is no marketing purpose");

        var extractor = new PixelTemplateExtractor();
        var face = TestVectors.Unit(new Random(7), 16);
        var enrolled = module.Enrolment(extractor).Enrol(480112, [PixelTemplateExtractor.Image(face, 0.9f), PixelTemplateExtractor.Image(face, 0.95f)], "office");
        Assert.That(module.Store.Count(480112), Is.EqualTo(2), string.Join("; ", enrolled.ToString()));
        var space = new TemplateSpace(BiometricModality.Face, extractor.ModelId);
        Assert.That(module.Index.Identify(face, BiometricPurpose.Access, space).PupilId, Is.EqualTo(480112));

        var revoked = applier.Apply(DownlinkApplierTests.Changes(5,
            ("consent.revoke", """{"consentId":"cs-1","pupilId":480112,"purposes":["access","attendance"],"purgeBy":"2026-11-22T07:40:00+05:00"}""")));
        Assert.That(revoked.Rejected, Is.Empty);
        Assert.That(revoked.Purged.Select(p => (p.ConsentId, p.Templates)), Is.EqualTo(new[] { ("cs-1", 2) }), "the purge is confirmed to the centre");
        Assert.That(module.Store.Count(480112), Is.Zero, "gone from disk");
        Assert.That(module.Index.Identify(face, BiometricPurpose.Access, space).Outcome, Is.EqualTo(IdentifyOutcome.Unknown), "gone from memory");
        Assert.That(module.Audit.Verify().IsIntact, Is.True);

        // The deletion reaches the outbox as template.purged (no template data in it), once.
        var relay = new BiometricEventsRelay(module.Events, database, time);
        Assert.That(relay.RelayOnce(), Is.EqualTo(1));
        Assert.That(relay.RelayOnce(), Is.Zero);
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT payload FROM outbox WHERE event_type = 'template.purged'";
        string payload = (string)command.ExecuteScalar()!;
        Assert.That(payload, Does.Contain("480112").And.Contain("\"templatesDeleted\":2").And.Not.Contain("vector"));
    }
}
