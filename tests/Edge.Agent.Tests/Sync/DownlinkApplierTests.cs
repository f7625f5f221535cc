using System.Globalization;
using System.Text;
using System.Text.Json;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Sync;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Agent.Tests.Sync;

/// <summary>The edge inbox on a real SQLite file: version order, idempotence, rejections that do not stop the stream.</summary>
[Category("Integration")]
public class DownlinkApplierTests
{
    private TempDirectory _dir = null!;
    private EdgeDatabase _database = null!;
    private DownlinkApplier _applier = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDirectory();
        _database = EdgeDatabase.Open(_dir.File("edge.db"));
        _applier = new DownlinkApplier(_database, [new RosterHandlers()], "sch-0001", "almaty", NullLogger.Instance);
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    /// <summary>A <c>down/changes</c> message with contiguous versions from <paramref name="from"/>.</summary>
    public static byte[] Changes(long from, params (string Kind, string Data)[] changes) => Changes("sch-0001", from, changes);

    public static byte[] Changes(string school, long from, params (string Kind, string Data)[] changes)
    {
        var json = new StringBuilder();
        json.Append(CultureInfo.InvariantCulture, $"{{\"schemaVersion\":1,\"type\":\"changes\",\"school\":\"{school}\",\"region\":\"almaty\",\"msgId\":\"m\",\"sentAt\":\"2026-11-21T07:40:00+05:00\",\"fromVersion\":{from},\"toVersion\":{from + changes.Length - 1},\"changes\":[");
        for (int i = 0; i < changes.Length; i++)
        {
            if (i > 0) json.Append(',');
            json.Append(CultureInfo.InvariantCulture, $"{{\"version\":{from + i},\"kind\":\"{changes[i].Kind}\",\"schemaVersion\":1,\"data\":{changes[i].Data}}}");
        }
        json.Append("]}");
        return Encoding.UTF8.GetBytes(json.ToString());
    }

    private long Count(string sql)
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static readonly (string, string)[] Roster =
    [
        ("class.upsert", """{"classId":73,"name":"5Б","grade":5}"""),
        ("pupil.upsert", """{"pupilId":480113,"classId":73,"displayName":"Айгерим С.","status":"active"}"""),
        ("card.upsert", """{"cardNumber":3922187734,"holderKind":"pupil","holderId":480113,"status":"active"}"""),
    ];

    [Test]
    public void A_batch_is_applied_in_order_and_the_gate_sees_the_new_card()
    {
        int reloads = 0;
        _applier.ChangesApplied += () => reloads++;
        var outcome = _applier.Apply(Changes(1, Roster));

        Assert.That(outcome.Status, Is.EqualTo(DownlinkStatus.Applied));
        Assert.That(outcome.AppliedVersion, Is.EqualTo(3));
        Assert.That(outcome.Rejected, Is.Empty);
        Assert.That(_applier.AppliedVersion(), Is.EqualTo(3));
        Assert.That(reloads, Is.EqualTo(1));
        var snapshot = new AccessRepository(_database).LoadSnapshot();
        Assert.That(snapshot.Credentials.ContainsKey(3922187734UL), Is.True, "the card is in the next access snapshot");
    }

    [Test]
    public void A_resent_batch_changes_nothing_and_is_acknowledged_again()
    {
        _applier.Apply(Changes(1, Roster));
        var again = _applier.Apply(Changes(1, Roster));
        Assert.That(again.Status, Is.EqualTo(DownlinkStatus.AlreadyApplied));
        Assert.That(again.AppliedVersion, Is.EqualTo(3));
        Assert.That(Count("SELECT COUNT(*) FROM credentials"), Is.EqualTo(1));

        // An overlapping batch applies only its new part.
        var overlap = _applier.Apply(Changes(3, Roster[2], ("card.block", """{"cardNumber":3922187734}""")));
        Assert.That(overlap.Status, Is.EqualTo(DownlinkStatus.Applied));
        Assert.That(overlap.AppliedChanges, Is.EqualTo(1));
        Assert.That(Count("SELECT COUNT(*) FROM credentials WHERE status = 'blocked'"), Is.EqualTo(1));
    }

    [Test]
    public void A_batch_after_a_gap_is_not_applied()
    {
        var outcome = _applier.Apply(Changes(5, Roster));
        Assert.That(outcome.Status, Is.EqualTo(DownlinkStatus.Gap));
        Assert.That(_applier.AppliedVersion(), Is.Zero);
        Assert.That(Count("SELECT COUNT(*) FROM classes"), Is.Zero);
    }

    [Test]
    public void A_change_that_cannot_be_applied_is_rejected_alone_and_the_stream_goes_on()
    {
        var outcome = _applier.Apply(Changes(1,
            Roster[0],
            ("pupil.upsert", """{"pupilId":1,"classId":999,"displayName":"No class"}"""),   // foreign key: class 999 unknown
            ("weather.report", """{"sunny":true}"""),                                      // no handler
            ("card.upsert", """{"cardNumber":12,"holderKind":"alien","holderId":1}"""),     // bad enum
            ("pupil.upsert", """{"pupilId":2,"classId":73}"""),                             // missing field
            Roster[1]));

        Assert.That(outcome.Status, Is.EqualTo(DownlinkStatus.Applied));
        Assert.That(outcome.AppliedVersion, Is.EqualTo(6));
        Assert.That(outcome.Rejected.Select(r => r.Version), Is.EqualTo(new long[] { 2, 3, 4, 5 }));
        Assert.That(outcome.Rejected[1].Reason, Does.StartWith("unknown-kind: weather.report"));
        Assert.That(outcome.Rejected[2].Reason, Does.Contain("holderKind").And.Contain("alien"));
        Assert.That(outcome.Rejected[3].Reason, Does.Contain("pupil.upsert.displayName"));
        Assert.That(Count("SELECT COUNT(*) FROM pupils"), Is.EqualTo(1), "only the valid pupil");
        Assert.That(Count("SELECT COUNT(*) FROM inbox_rejections"), Is.EqualTo(4));
    }

    [TestCase("{not json", "not JSON")]
    [TestCase("""{"schemaVersion":2,"type":"changes"}""", "schemaVersion 2")]
    [TestCase("""{"schemaVersion":1,"type":"changes","school":"sch-0002","region":"almaty","fromVersion":1,"toVersion":1,"changes":[]}""", "another school")]
    [TestCase("""{"schemaVersion":1,"type":"changes","school":"sch-0001","region":"almaty","fromVersion":1,"toVersion":2,"changes":[{"version":2,"kind":"x","data":{}},{"version":1,"kind":"x","data":{}}]}""", "out of order")]
    [TestCase("""{"schemaVersion":1,"type":"changes","school":"sch-0001","region":"almaty","fromVersion":1,"toVersion":3,"changes":[{"version":1,"kind":"x","data":{}}]}""", "1 items for versions 1–3")]
    public void A_malformed_message_is_ignored_with_the_reason(string payload, string reason)
    {
        var outcome = _applier.Apply(Encoding.UTF8.GetBytes(payload));
        Assert.That(outcome.Status, Is.EqualTo(DownlinkStatus.Malformed));
        Assert.That(outcome.Problem, Does.Contain(reason));
        Assert.That(_applier.AppliedVersion(), Is.Zero);
    }

    [Test]
    public void A_pupil_who_leaves_has_every_card_blocked()
    {
        _applier.Apply(Changes(1, Roster));
        _applier.Apply(Changes(4, ("pupil.leave", """{"pupilId":480113}""")));
        Assert.That(Count("SELECT COUNT(*) FROM pupils WHERE status = 'left'"), Is.EqualTo(1));
        Assert.That(Count("SELECT COUNT(*) FROM credentials WHERE status = 'active'"), Is.Zero);
    }

    [Test]
    public void A_schedule_is_replaced_as_a_whole_and_holidays_are_set_and_removed()
    {
        _applier.Apply(Changes(1, Roster[0],
            ("schedule.replace", """{"appliesTo":"class","classId":73,"windows":[{"weekday":1,"from":"07:30","until":"13:30"},{"weekday":2,"from":"07:30","until":"13:30"}]}"""),
            ("schedule.replace", """{"appliesTo":"class","classId":73,"windows":[{"weekday":3,"from":"08:00","until":"12:00"}]}"""),
            ("holiday.set", """{"day":"2026-12-16","name":"Independence Day"}"""),
            ("holiday.set", """{"day":"2026-12-17","name":"Independence Day"}"""),
            ("holiday.remove", """{"day":"2026-12-17"}"""),
            ("schedule.replace", """{"appliesTo":"class","classId":73,"windows":[{"weekday":3,"from":"12:00","until":"08:00"}]}""")));
        Assert.That(Count("SELECT COUNT(*) FROM schedules"), Is.EqualTo(1), "the second replace replaced the first; the backwards window was rejected");
        Assert.That(Count("SELECT weekday FROM schedules"), Is.EqualTo(3));
        Assert.That(Count("SELECT COUNT(*) FROM holidays"), Is.EqualTo(1));
        Assert.That(Count("SELECT COUNT(*) FROM inbox_rejections"), Is.EqualTo(1));
    }

    [Test]
    public void Every_change_survives_a_reopen_of_the_store()
    {
        _applier.Apply(Changes(1, Roster));
        var reopened = new DownlinkApplier(EdgeDatabase.Open(_dir.File("edge.db")), [new RosterHandlers()], "sch-0001", "almaty", NullLogger.Instance);
        Assert.That(reopened.AppliedVersion(), Is.EqualTo(3));
        Assert.That(reopened.Apply(Changes(3, Roster[2])).Status, Is.EqualTo(DownlinkStatus.AlreadyApplied));
    }
}
