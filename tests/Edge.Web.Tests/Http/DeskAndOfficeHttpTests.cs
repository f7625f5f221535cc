using System.Net;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Ledgers.Library;

namespace Kezekshi.Edge.Web.Tests.Http;

/// <summary>The library desk, the office's reports and the roll-call over real HTTP, on the ledgers in a temp SQLite file.</summary>
[Category("Integration")]
[NonParallelizable]
public sealed class DeskAndOfficeHttpTests
{
    private WebSchool _school = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _school = await WebSchool.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await _school.DisposeAsync();

    [Test]
    public async Task A_librarian_lends_renews_and_takes_back_a_book_by_card_and_barcode()
    {
        var desk = new LibraryDesk(_school.Database);
        var title = desk.AddTitle(null, "Abai Zholy", "Mukhtar Auezov");
        desk.AddCopy(title.Id, "LIB-0001", DateTimeOffset.UtcNow);
        using var librarian = await SignedInClient.SignInAsync(_school, "librarian1");

        using var pupil = await librarian.GetAsync("/api/library/pupil?card=" + DemoSchool.PupilCard(15));
        long pupilId = (await SignedInClient.JsonAsync(pupil)).GetProperty("pupilId").GetInt64();
        using var lend = await librarian.PostAsync("/api/library/lend", new { barcode = "LIB-0001", pupilId });
        using var again = await librarian.PostAsync("/api/library/lend", new { barcode = "LIB-0001", pupilId = 16 });
        using var renew = await librarian.PostAsync("/api/library/renew", new { barcode = "LIB-0001" });
        using var held = await librarian.GetAsync("/api/library/pupil?card=" + DemoSchool.PupilCard(15));
        using var back = await librarian.PostAsync("/api/library/return", new { barcode = "LIB-0001" });
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pupilId, Is.EqualTo(15));
            Assert.That(lend.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await SignedInClient.JsonAsync(lend)).GetProperty("message").GetString(), Does.StartWith("Lent \"Abai Zholy\""));
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Conflict), "a book on loan cannot be lent twice");
            Assert.That((await SignedInClient.JsonAsync(renew)).GetProperty("loan").GetProperty("renewals").GetInt32(), Is.EqualTo(1));
            Assert.That((await SignedInClient.JsonAsync(held)).GetProperty("loans").GetArrayLength(), Is.EqualTo(1));
            Assert.That(back.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(desk.LoansOf(15).Where(l => l.ReturnedAt is null), Is.Empty, "nothing held after the return");
        }
    }

    [Test]
    public async Task The_office_downloads_the_register_as_CSV_and_printable_HTML_and_a_cashier_may_not()
    {
        using var office = await SignedInClient.SignInAsync(_school, "office1");
        using var cashier = await SignedInClient.SignInAsync(_school, "cashier1");
        string month = DateTime.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);

        using var csv = await office.GetAsync($"/api/office/register?group=1&month={month}&format=csv");
        using var html = await office.GetAsync($"/api/office/register?group=1&month={month}");
        using var meals = await office.GetAsync($"/api/office/free-meals?month={month}&format=csv");
        using var bad = await office.GetAsync("/api/office/register?group=1&month=November");
        using var refused = await cashier.GetAsync($"/api/office/register?group=1&month={month}&format=csv");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(csv.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(csv.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/csv"));
            Assert.That(csv.Content.Headers.ContentDisposition?.FileName, Does.Contain(month));
            Assert.That(await html.Content.ReadAsStringAsync(), Does.Contain("<table"));
            Assert.That(meals.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That((await SignedInClient.JsonAsync(bad)).GetProperty("error").GetString(), Does.Contain("2026-11").Or.Contain("form"));
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        }
    }

    [Test]
    public async Task A_roll_call_lists_who_is_inside_and_keeps_the_ticks()
    {
        using (var connection = _school.Database.Connect())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "INSERT INTO presence(holder_kind, holder_id, inside, last_gate, last_at) VALUES ('pupil', 5, 1, 'gate1', $at), ('pupil', 6, 1, 'gate1', $at) ON CONFLICT DO NOTHING";
            command.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            command.ExecuteNonQuery();
        }
        using var office = await SignedInClient.SignInAsync(_school, "office1");
        using var start = await office.PostAsync("/api/rollcall/start", new { });
        var sheet = await SignedInClient.JsonAsync(start);
        long session = sheet.GetProperty("sessionId").GetInt64();
        var person = sheet.GetProperty("people")[0];
        using var tick = await office.PostAsync("/api/rollcall/tick", new { sessionId = session, holderKind = person.GetProperty("holderKind").GetString(), holderId = person.GetProperty("holderId").GetInt64(), accounted = true });
        using var current = await office.GetAsync("/api/rollcall");
        using var print = await office.GetAsync($"/api/rollcall/{session}/print");
        var people = (await SignedInClient.JsonAsync(current)).GetProperty("people").EnumerateArray().ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(start.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(people, Has.Count.GreaterThanOrEqualTo(2));
            Assert.That(tick.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(people.Count(p => p.GetProperty("accountedAt").ValueKind != System.Text.Json.JsonValueKind.Null), Is.EqualTo(1));
            Assert.That(await print.Content.ReadAsStringAsync(), Does.Contain("<html").IgnoreCase);
        }
    }
}
