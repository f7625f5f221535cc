using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Ledgers;
using Kezekshi.Edge.Agent.Ledgers.Library;
using Kezekshi.Edge.Agent.Store;

namespace Kezekshi.Edge.Agent.Tests.Ledgers;

[Category("Integration")]
public class LibraryDeskTests
{
    private static readonly DateTimeOffset s_monday = new(2026, 11, 23, 10, 0, 0, TimeSpan.FromHours(5));
    private TempDirectory _directory = null!;
    private EdgeDatabase _database = null!;
    private LibraryDesk _desk = null!;

    [SetUp]
    public void SetUp()
    {
        _directory = new TempDirectory();
        _database = EdgeDatabase.Open(_directory.File("edge.db"));
        DemoSchool.Seed(_database, s_monday, pupils: 20, classes: 2, staff: 5, visitors: 1);
        _desk = new LibraryDesk(_database, new LibraryOptions { LoanDays = 14, MaxRenewals = 1, MaxLoansPerPupil = 2 }, CanteenRig.Almaty);
        var abai = _desk.AddTitle("978-601-7-12345-" + CheckDigit("978601712345"), "Words of Edification", "Abai Kunanbaiuly");
        _desk.AddCopy(abai.Id, "LIB-0001", s_monday);
        _desk.AddCopy(abai.Id, "LIB-0002", s_monday);
        var atlas = _desk.AddTitle(null, "School Atlas", "");
        _desk.AddCopy(atlas.Id, "LIB-0100", s_monday);
    }

    [TearDown]
    public void TearDown()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    private static string CheckDigit(string twelve) => ((10 - twelve.Select((c, i) => (c - '0') * (i % 2 == 0 ? 1 : 3)).Sum() % 10) % 10).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private long Outbox(string type)
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM outbox WHERE event_type = $t";
        command.Parameters.AddWithValue("$t", type);
        return (long)command.ExecuteScalar()!;
    }

    [Test]
    public void Catalogue_counts_copies_and_what_is_on_the_shelf()
    {
        var loan = _desk.Lend("LIB-0001", 3, s_monday);
        var abai = _desk.Search("abai").Single();
        Assert.That((abai.Copies, abai.Available), Is.EqualTo((2, 1)));
        Assert.That(abai.Isbn, Has.Length.EqualTo(13));
        Assert.That(_desk.Search("9786017").Single().Id, Is.EqualTo(abai.Id), "found by ISBN");
        Assert.That(_desk.Search(), Has.Count.EqualTo(2));
        Assert.That(loan.DueOn, Is.EqualTo(new DateOnly(2026, 12, 7)));
        Assert.That(_desk.FindCopy("LIB-0001")!.Status, Is.EqualTo(CopyStatus.OnLoan));
    }

    [Test]
    public void Loan_return_and_renewal_follow_the_rules_and_each_goes_to_the_outbox()
    {
        _desk.Lend("LIB-0001", 3, s_monday);
        var lentAgain = Assert.Throws<LedgerException>(() => _desk.Lend("LIB-0001", 4, s_monday));
        Assert.That(lentAgain!.Message, Does.Contain("still on loan"));
        var renewed = _desk.Renew("LIB-0001", s_monday.AddDays(10));
        Assert.That(renewed.DueOn, Is.EqualTo(new DateOnly(2026, 12, 21)), "14 days from the due date, which is later than today");
        Assert.That(Assert.Throws<LedgerException>(() => _desk.Renew("LIB-0001", s_monday.AddDays(11)))!.Message, Does.Contain("must come back"));
        var returned = _desk.Return("LIB-0001", s_monday.AddDays(20));
        Assert.That(returned.ReturnedAt, Is.Not.Null);
        Assert.That(_desk.LoansOf(3), Is.Empty);
        Assert.Throws<LedgerException>(() => _desk.Return("LIB-0001", s_monday.AddDays(20)));
        Assert.That((Outbox("library.loan"), Outbox("library.renewal"), Outbox("library.return")), Is.EqualTo((1L, 1L, 1L)));
    }

    [Test]
    public void A_pupil_cannot_hold_more_than_the_maximum_and_unknown_pupils_or_copies_are_refused()
    {
        _desk.Lend("LIB-0001", 3, s_monday);
        _desk.Lend("LIB-0002", 3, s_monday);
        Assert.That(Assert.Throws<LedgerException>(() => _desk.Lend("LIB-0100", 3, s_monday))!.Message, Does.Contain("already holds 2"));
        Assert.That(Assert.Throws<LedgerException>(() => _desk.Lend("LIB-0100", 999, s_monday))!.Message, Does.Contain("not an active pupil"));
        Assert.That(Assert.Throws<LedgerException>(() => _desk.Lend("NOPE", 4, s_monday))!.Message, Does.Contain("add it to the catalogue"));
    }

    [Test]
    public void Overdue_list_names_pupil_class_and_days_late_and_a_lost_copy_leaves_it()
    {
        _desk.Lend("LIB-0001", 3, s_monday);
        _desk.Lend("LIB-0100", 4, s_monday.AddDays(7));
        var today = new DateOnly(2026, 12, 10);
        var overdue = _desk.Overdue(today);
        Assert.That(overdue, Has.Count.EqualTo(1));
        Assert.That((overdue[0].Barcode, overdue[0].PupilId, overdue[0].DaysOverdue), Is.EqualTo(("LIB-0001", 3L, 3)));
        Assert.That(overdue[0].PupilName, Is.Not.Empty);
        var lost = _desk.MarkLost("LIB-0001", s_monday.AddDays(17));
        Assert.That(lost.LostAt, Is.Not.Null);
        Assert.That(_desk.Overdue(today), Is.Empty);
        Assert.That(_desk.LostItems().Single().Barcode, Is.EqualTo("LIB-0001"));
        Assert.That(Assert.Throws<LedgerException>(() => _desk.Lend("LIB-0001", 5, s_monday.AddDays(18)))!.Message, Does.Contain("marked lost"));
        _desk.Return("LIB-0001", s_monday.AddDays(30));
        Assert.That(_desk.LostItems(), Is.Empty, "a lost copy that turns up is returned to the shelf");
        Assert.That(_desk.FindCopy("LIB-0001")!.Status, Is.EqualTo(CopyStatus.Available));
        Assert.That(Outbox("library.lost"), Is.EqualTo(1));
    }

    [Test]
    public void Isbn_check_digits_are_verified_with_a_message_that_says_what_to_do()
    {
        Assert.That(LibraryDesk.NormaliseIsbn("0-306-40615-2"), Is.EqualTo("0306406152"));
        Assert.That(LibraryDesk.NormaliseIsbn("978-0-306-40615-7"), Is.EqualTo("9780306406157"));
        Assert.That(LibraryDesk.NormaliseIsbn("0-8044-2957-X"), Is.EqualTo("080442957X"));
        var error = Assert.Throws<ArgumentException>(() => _desk.AddTitle("978-0-306-40615-8", "Typo", "x"));
        Assert.That(error!.Message, Does.Contain("re-scan"));
        Assert.That(Assert.Throws<LedgerException>(() => _desk.AddCopy(1, "LIB-0001", s_monday))!.Message, Does.Contain("already on another copy"));
    }

    [Test]
    public void Pupil_is_found_by_the_card_read_at_the_desk()
    {
        var people = new SchoolPeople(_database);
        var pupil = people.PupilByCard(DemoSchool.PupilCard(3));
        Assert.That(pupil!.PupilId, Is.EqualTo(3));
        Assert.That(people.PupilByCard(DemoSchool.StaffCard(1)), Is.Null);
        Assert.That(people.Pupil(3)!.ClassName, Is.EqualTo(pupil.ClassName));
    }
}
