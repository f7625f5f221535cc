using System.Globalization;
using Kezekshi.Edge.Agent.Ledgers;
using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Kezekshi.Edge.Agent.Ledgers.Tableau;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Sync;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Agent.Tests.Sync;

/// <summary>Money and board changes from the centre, through the canteen ledger's own rules, on a real SQLite file.</summary>
[Category("Integration")]
public class LedgerHandlersTests
{
    private TempDirectory _dir = null!;
    private EdgeDatabase _database = null!;
    private CanteenLedger _canteen = null!;
    private Announcements _announcements = null!;
    private DownlinkApplier _applier = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDirectory();
        _database = EdgeDatabase.Open(_dir.File("edge.db"));
        _canteen = new CanteenLedger(_database);
        _announcements = new Announcements(_database);
        _applier = new DownlinkApplier(_database, [new RosterHandlers(), new LedgerHandlers(_canteen, _announcements)], "sch-0001", "almaty", NullLogger.Instance);
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static readonly (string, string)[] Pupil =
    [
        ("class.upsert", """{"classId":73,"name":"5B","grade":5}"""),
        ("pupil.upsert", """{"pupilId":480112,"classId":73,"displayName":"Aigerim S."}"""),
    ];

    [Test]
    public void A_top_up_is_credited_once_however_often_it_arrives()
    {
        var outcome = _applier.Apply(DownlinkApplierTests.Changes(1, Pupil[0], Pupil[1],
            ("topup", """{"topupId":"tu-1","pupilId":480112,"amountTiyn":200000,"at":"2026-11-21T07:38:12+05:00"}"""),
            ("topup", """{"topupId":"tu-1","pupilId":480112,"amountTiyn":200000,"at":"2026-11-21T07:38:12+05:00"}"""),
            ("topup", """{"topupId":"tu-2","pupilId":480112,"amountTiyn":50000}""")));
        Assert.That(outcome.Rejected, Is.Empty);
        Assert.That(_canteen.GetBalance(480112), Is.EqualTo(250_000), "tu-1 once, tu-2 once");

        // The same batch again (the acknowledgement was lost): nothing changes.
        _applier.Apply(DownlinkApplierTests.Changes(1, Pupil[0], Pupil[1],
            ("topup", """{"topupId":"tu-1","pupilId":480112,"amountTiyn":200000}""")));
        Assert.That(_canteen.GetBalance(480112), Is.EqualTo(250_000));
    }

    [Test]
    public void A_top_up_that_cannot_be_credited_is_rejected_and_the_stream_goes_on()
    {
        var outcome = _applier.Apply(DownlinkApplierTests.Changes(1, Pupil[0], Pupil[1],
            ("topup", """{"topupId":"tu-9","pupilId":999,"amountTiyn":1000}"""),                 // unknown pupil
            ("topup", """{"topupId":"tu-10","pupilId":480112,"amountTiyn":-5}"""),               // negative
            ("topup", """{"topupId":"tu-11","pupilId":480112,"amountTiyn":1000}"""),
            ("topup", """{"topupId":"tu-11","pupilId":480112,"amountTiyn":9000}""")));           // same id, other amount
        Assert.That(outcome.Rejected.Select(r => r.Version), Is.EqualTo(new long[] { 3, 4, 6 }));
        Assert.That(outcome.Rejected[0].Reason, Does.Contain("999"));
        Assert.That(outcome.AppliedVersion, Is.EqualTo(6));
        Assert.That(_canteen.GetBalance(480112), Is.EqualTo(1000), "the first tu-11 is kept");
    }

    [Test]
    public void Limits_menu_and_announcements_reach_the_till_and_the_board()
    {
        var outcome = _applier.Apply(DownlinkApplierTests.Changes(1, Pupil[0], Pupil[1],
            ("limits.set", """{"pupilId":480112,"dailyLimitTiyn":150000}"""),
            ("menu.publish", """{"menuId":"m-1","day":"2026-11-24","items":[{"menuItemId":31,"name":"Plov","priceTiyn":45000,"isMeal":true},{"menuItemId":32,"name":"Samsa","priceTiyn":30000,"allergens":["gluten"]}]}"""),
            ("menu.publish", """{"menuId":"m-2","day":"2026-11-25","items":[{"menuItemId":31,"name":"Plov","priceTiyn":47000,"isMeal":true}]}"""),
            ("announcement", """{"announcementId":"a-301","title":"Short day","body":"lessons until 12:00","showFrom":"2026-11-20T00:00:00+05:00","showUntil":"2030-01-01T00:00:00+05:00"}"""),
            ("announcement", """{"announcementId":"a-302","title":"Gone soon"}"""),
            ("announcement.withdraw", """{"announcementId":"a-302"}""")));
        Assert.That(outcome.Rejected, Is.Empty);
        var menu = _canteen.GetMenu();
        Assert.That(menu.Select(m => (m.Name, m.Price)), Is.EquivalentTo(new[] { ("Plov", 47000L), ("Samsa", 30000L) }), "the second publish updated the price, no copy");
        Assert.That(menu.Single(m => m.Name == "Samsa").Allergens, Is.EqualTo(new[] { "gluten" }));
        var active = _announcements.Active(DateTimeOffset.UtcNow);
        Assert.That(active.Select(a => a.Text), Is.EqualTo(new[] { "Short day: lessons until 12:00" }));
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT daily_limit FROM canteen_daily_limits WHERE pupil_id = 480112";
        Assert.That(Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture), Is.EqualTo(150_000));
    }
}
