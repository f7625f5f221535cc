using System.Diagnostics;
using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Agent.Ledgers.Tableau;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Sync;
using Kezekshi.Server.Sync.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Server.Sync.Tests.EndToEnd;

/// <summary>
/// A school that was offline for 30 school days reconnects: its outbox goes through a real mosquitto with TLS
/// and per-school certificates to a centre worker that applies it to a real PostgreSQL and answers with
/// watermarks. The broker is killed and restarted in the middle. Nothing may be lost or doubled.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable]
public class OfflineCatchUpTests : CentreFixture
{
    private const int Pupils = 1200;
    private const int SchoolDays = 30;

    private static void FillOutbox(EdgeDatabase database, int pupils, int days)
    {
        using var connection = database.Connect();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO outbox(event_type, schema_version, payload, created_at) VALUES ('passage', 1, $p, $t)";
        var payload = command.Parameters.Add("$p", Microsoft.Data.Sqlite.SqliteType.Text);
        var at = command.Parameters.Add("$t", Microsoft.Data.Sqlite.SqliteType.Text);
        var start = new DateTimeOffset(2026, 10, 1, 7, 30, 0, TimeSpan.FromHours(5));
        for (int day = 0; day < days; day++)
        {
            for (int pupil = 1; pupil <= pupils; pupil++)
            {
                // Lunch: one canteen sale per pupil per day, as the canteen ledger writes it.
                var lunch = start.AddDays(day).AddHours(5).AddSeconds(pupil);
                string lunchTime = lunch.ToString("O");
                payload.Value = $"{{\"schemaVersion\":1,\"uid\":\"{Guid.CreateVersion7(lunch)}\",\"kind\":\"sale\",\"pupilId\":{pupil},\"amountTiyn\":45000,\"items\":[{{\"menuItemId\":31,\"qty\":1,\"priceTiyn\":45000}}],\"offline\":true,\"at\":\"{lunchTime}\"}}";
                at.Value = lunchTime;
                command.CommandText = "INSERT INTO outbox(event_type, schema_version, payload, created_at) VALUES ('canteen.charge', 1, $p, $t)";
                command.ExecuteNonQuery();
                command.CommandText = "INSERT INTO outbox(event_type, schema_version, payload, created_at) VALUES ('passage', 1, $p, $t)";
                foreach (var (direction, hour) in new[] { ("entry", 0), ("exit", 6) })
                {
                    var decided = start.AddDays(day).AddHours(hour).AddSeconds(pupil);
                    string time = decided.ToString("O");
                    payload.Value = $"{{\"schemaVersion\":1,\"uid\":\"{Guid.CreateVersion7(decided):N}\",\"gate\":\"gate1\",\"direction\":\"{direction}\",\"holderKind\":\"pupil\",\"holderId\":{pupil},\"decision\":\"granted\",\"reason\":\"granted\",\"outcome\":\"passed\",\"decidedAt\":\"{time}\",\"completedAt\":\"{time}\",\"manualBy\":null}}";
                    at.Value = time;
                    command.ExecuteNonQuery();
                }
            }
        }
        transaction.Commit();
    }

    [Test]
    public async Task Thirty_school_days_of_passages_and_sales_arrive_once_through_a_broker_restart_while_the_centre_changes_reach_the_school()
    {
        await using var rig = await SyncRig.StartAsync(SchoolA, persistence: true);
        var edgeDatabase = rig.EdgeDatabase;
        FillOutbox(edgeDatabase, Pupils, SchoolDays);
        int passages = Pupils * SchoolDays * 2;
        int expected = Pupils * SchoolDays * 3;

        // Meanwhile at the centre: a new class with 40 new pupils and their cards, a top-up for each, a card blocked.
        // (The edge school must know its existing pupils for the top-ups: they arrive first in the same feed.)
        long version = 0;
        var changes = new List<(string Kind, string Data)> { ("class.upsert", """{"classId":90,"name":"1A","grade":1}""") };
        for (int pupil = 1; pupil <= 40; pupil++)
        {
            changes.Add(("pupil.upsert", $$"""{"pupilId":{{900000 + pupil}},"classId":90,"displayName":"New pupil {{pupil}}"}"""));
            changes.Add(("card.upsert", $$"""{"cardNumber":{{3800000000L + pupil}},"holderKind":"pupil","holderId":{{900000 + pupil}}}"""));
            changes.Add(("topup", $$"""{"topupId":"tu-{{pupil}}","pupilId":{{900000 + pupil}},"amountTiyn":{{100000 + pupil}}}"""));
        }
        changes.Add(("card.block", """{"cardNumber":3800000007}"""));
        // A parent revoked the biometric consent of pupil 555 through the parents' portal.
        changes.Add(("consent.revoke", """{"consentId":"cs-555","pupilId":555,"purposes":["access","attendance","safety"],"purgeBy":"2026-11-22T07:40:00+05:00"}"""));
        foreach (var (kind, data) in changes)
            await ExecuteAsync($"INSERT INTO downlink_changes(school, version, type, schema_version, payload) VALUES ('{SchoolA}', {++version}, '{kind}', 1, '{data}'::jsonb)");

        await rig.StartCentreAsync(Database, Ingestor);
        var canteen = new CanteenLedger(edgeDatabase);
        using var biometrics = BiometricsModule.Open(new BiometricsOptions
        {
            Enabled = true,
            Dpia = new DpiaRecord { Reference = "DPIA-TEST", ApprovedBy = "head teacher", ApprovedOn = new DateOnly(2026, 8, 20) },
        }, rig.Directory);
        biometrics.Consents.RecordGrant(new ConsentGrant(555, "g-555", "Guardian", DateTimeOffset.UtcNow, new string('a', 64),
            BiometricPurpose.Access | BiometricPurpose.Attendance, DateTimeOffset.UtcNow.AddYears(1), "office", NoCrossBorder: true));
        var enrolled = biometrics.Enrolment(new VectorInPixels()).Enrol(555, [VectorInPixels.Image(1), VectorInPixels.Image(2)], "office");
        Assert.That(biometrics.Store.Count(555), Is.EqualTo(2), enrolled.ToString());
        var clock = Stopwatch.StartNew();
        await rig.StartSchoolAsync(new LedgerHandlers(canteen, new Announcements(edgeDatabase)),
            new BiometricsHandlers(biometrics.Consents, pupil => biometrics.Store.Count(pupil)));
        var (publisher, batcher, session) = (rig.Publisher, rig.Batcher, rig.Session);

        // Half-way through, the broker dies and comes back.
        await Until(() => publisher.Watermark >= expected / 2, TimeSpan.FromSeconds(120));
        await rig.Broker.KillAsync();
        await Task.Delay(500);
        await rig.Broker.RestartAsync();

        await Until(() =>
        {
            TestContext.Progress.WriteLine($"watermark {publisher.Watermark}, events sent {publisher.EventsSent}, batches applied {rig.Worker.BatchesApplied}, edge connected {rig.Edge.IsConnected}");
            return session.AppliedVersion == version && batcher.Backlog() == 0; // in this order: applying a top-up adds an event
        }, TimeSpan.FromSeconds(180));
        clock.Stop();
        await rig.StopAsync();

        // Each top-up applied at the school is reported back too (canteen.topup-applied): 40 more events.
        expected += 40;
        Assert.That(await CountAsync("SELECT COUNT(*) FROM events WHERE school = 'sch-0001'"), Is.EqualTo(expected), "every event once");
        Assert.That(await CountAsync("SELECT COUNT(DISTINCT seq) FROM events WHERE school = 'sch-0001'"), Is.EqualTo(expected));
        Assert.That(await CountAsync("SELECT COUNT(*) FROM events WHERE type = 'canteen.topup-applied'"), Is.EqualTo(40));
        Assert.That(await CountAsync("SELECT COUNT(*) FROM passages"), Is.EqualTo(passages), "every passage projected once");
        Assert.That(await CountAsync("SELECT COUNT(*) FROM events WHERE type = 'canteen.charge'"), Is.EqualTo(Pupils * SchoolDays), "every sale once");

        // The centre's changes reached the school once, in order, while its backlog went up.
        Assert.That(await CountAsync($"SELECT downlink_acked_version FROM schools WHERE id = '{SchoolA}'"), Is.EqualTo(version));
        Assert.That(await CountAsync($"SELECT COUNT(*) FROM downlink_rejections WHERE school = '{SchoolA}'"), Is.Zero);
        Assert.That((rig.CountAtSchool("SELECT COUNT(*) FROM pupils WHERE class_id = 90"), rig.CountAtSchool("SELECT COUNT(*) FROM credentials WHERE status = 'blocked'")),
            Is.EqualTo((40L, 1L)), "new pupils arrived, one card blocked");
        Assert.That(Enumerable.Range(1, 40).Sum(p => canteen.GetBalance(900000 + p)), Is.EqualTo(Enumerable.Range(1, 40).Sum(p => 100000L + p)), "each top-up credited once");
        Assert.That(biometrics.Store.Count(555), Is.Zero, "the revoked pupil's templates are gone from the gate PC");
        Assert.That(await CountAsync($"SELECT templates FROM purge_confirmations WHERE school = '{SchoolA}' AND consent_id = 'cs-555'"), Is.EqualTo(2),
            "the school confirmed the purge to the centre");
        Assert.That(await CountAsync("SELECT MAX(watermark) FROM school_streams WHERE school = 'sch-0001'"), Is.EqualTo(expected));
        Assert.That(await CountAsync("SELECT COUNT(*) FROM dead_letters"), Is.Zero);
        Assert.That(batcher.ReadState().Watermark, Is.EqualTo(expected));
        await TestContext.Out.WriteLineAsync($"{expected} events caught up in {clock.Elapsed.TotalSeconds:F1} s ({expected / clock.Elapsed.TotalSeconds:F0} events/s end to end, broker killed once)");
    }

    private static async Task Until(Func<bool> condition, TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"not reached within {limit.TotalSeconds} s");
            await Task.Delay(1000);
        }
    }

    /// <summary>A stand-in camera for enrolment: the template is written into the pixels (the face pipeline is the biometrics tests' business).</summary>
    private sealed class VectorInPixels : ITemplateExtractor
    {
        public BiometricModality Modality => BiometricModality.Face;
        public int Dimensions => 8;
        public string ModelId => "pixels-8";

        public TemplateExtraction Extract(RawImage image)
        {
            var v = image.Pixels.Take(8).Select(b => (b - 128) / 127f).ToArray();
            float norm = MathF.Sqrt(v.Sum(x => x * x));
            return TemplateExtraction.Of([.. v.Select(x => x / norm)], 0.9f);
        }

        public static RawImage Image(int seed)
        {
            var pixels = new byte[16];
            new Random(seed).NextBytes(pixels);
            return new RawImage(16, 1, 1, pixels);
        }
    }

}
