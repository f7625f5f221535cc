using System.Net;

namespace Kezekshi.Server.Sync.Tests.Api;

public sealed class RosterApiTests : ApiFixture
{
    [Test]
    public async Task Calls_without_a_valid_key_get_401_and_another_roles_key_gets_403()
    {
        var none = await GetAsync("/api/schools", key: null);
        var wrong = await GetAsync("/api/schools", key: AdminKey + "x");
        var portal = await GetAsync("/api/schools", key: PortalKey);
        var region = await GetAsync("/api/schools", key: RegionKey);
        var health = await GetAsync("/health", key: null);

        Assert.That(none.Status, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(none.Response.Headers.WwwAuthenticate.ToString(), Does.Contain("X-Api-Key"));
        Assert.That(none.Body.GetProperty("detail").GetString(), Does.Contain("X-Api-Key"));
        Assert.That(wrong.Status, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(portal.Status, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(region.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(health.Status, Is.EqualTo(HttpStatusCode.OK), "the health endpoint stays open for the load balancer");
    }

    [Test]
    public async Task Schools_are_registered_idempotently_and_listed_by_region()
    {
        var first = await PutAsync("/api/schools/sch-0009", """{ "region": "almaty", "name": "School 9" }""");
        var again = await PutAsync("/api/schools/sch-0009", """{ "region": "almaty", "name": "School 9" }""");
        var list = await GetAsync("/api/schools?region=almaty", RegionKey);

        Assert.That(first.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(again.Body.GetProperty("feedVersion").GetInt64(), Is.Zero);
        Assert.That(list.Body.EnumerateArray().Select(s => s.GetProperty("id").GetString()), Is.EqualTo(new[] { SchoolA, SchoolB, "sch-0009" }));
    }

    [Test]
    public async Task A_bad_school_registration_names_the_field()
    {
        var badId = await PutAsync("/api/schools/SCH%209", """{ "region": "almaty", "name": "x" }""");
        var noName = await PutAsync("/api/schools/sch-0009", """{ "region": "almaty" }""");
        var badRegion = await PutAsync("/api/schools/sch-0009", """{ "region": "Almaty City", "name": "x" }""");
        var noBody = await PutAsync("/api/schools/sch-0009", null);

        Assert.That(badId.Status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(badId.FieldError("id"), Does.Contain("sch-0001"));
        Assert.That(noName.FieldError("name"), Does.Contain("required"));
        Assert.That(badRegion.FieldError("region"), Does.Contain("lower-case"));
        Assert.That(noBody.FieldError("body"), Does.Contain("JSON"));
    }

    [Test]
    public async Task Classes_are_created_once_by_name_and_listed()
    {
        var created = await PostAsync($"/api/schools/{SchoolA}/classes", """{ "name": "5Б", "grade": 5 }""");
        var repeated = await PostAsync($"/api/schools/{SchoolA}/classes", """{ "name": "5Б", "grade": 5 }""");
        var list = await GetAsync($"/api/schools/{SchoolA}/classes");
        var badGrade = await PostAsync($"/api/schools/{SchoolA}/classes", """{ "name": "13А", "grade": 13 }""");
        var unknownSchool = await PostAsync("/api/schools/sch-0404/classes", """{ "name": "1А", "grade": 1 }""");

        Assert.That(created.Status, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(repeated.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(repeated.Body.GetProperty("classId").GetInt64(), Is.EqualTo(created.Body.GetProperty("classId").GetInt64()));
        Assert.That(list.Body.GetArrayLength(), Is.EqualTo(1));
        Assert.That((await FeedAsync(SchoolA)).Count(c => c.Kind == "class.upsert"), Is.EqualTo(1));
        Assert.That(badGrade.FieldError("grade"), Does.Contain("0–12"));
        Assert.That(unknownSchool.Status, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task A_pupil_is_enrolled_read_moved_capped_and_leaves()
    {
        long pupilId = await EnrolOverHttpAsync(SchoolA);
        var read = await GetAsync($"/api/pupils/{pupilId}");
        var classB = await PostAsync($"/api/schools/{SchoolB}/classes", """{ "name": "6А", "grade": 6 }""");
        var moved = await PutAsync($"/api/pupils/{pupilId}",
            $$"""{ "classId": {{classB.Body.GetProperty("classId").GetInt64()}}, "fullName": "Айгерим Сейтқали", "displayName": "Айгерим" }""");
        var capped = await PutAsync($"/api/pupils/{pupilId}/limit", """{ "dailyLimitTiyn": 150000 }""");
        var left = await PostAsync($"/api/pupils/{pupilId}/leave", null);

        Assert.That(read.Body.GetProperty("displayName").GetString(), Is.EqualTo("Айгерим С."));
        Assert.That(moved.Body.GetProperty("school").GetString(), Is.EqualTo(SchoolB));
        Assert.That(capped.Body.GetProperty("dailyLimitTiyn").GetInt64(), Is.EqualTo(150000));
        Assert.That(left.Body.GetProperty("status").GetString(), Is.EqualTo("left"));
        Assert.That((await FeedAsync(SchoolB)).Select(c => c.Kind), Is.EqualTo(new[] { "class.upsert", "pupil.upsert", "limits.set", "pupil.leave" }));
    }

    [Test]
    public async Task Bad_pupil_requests_name_the_field_and_unknown_pupils_are_404()
    {
        var noClass = await PostAsync("/api/pupils", """{ "fullName": "X Y" }""");
        var textClass = await PostAsync("/api/pupils", """{ "classId": "five", "fullName": "X Y" }""");
        var unknownClass = await PostAsync("/api/pupils", """{ "classId": 999999, "fullName": "X Y" }""");
        var malformed = await PostAsync("/api/pupils", """{ "classId": 1, """);
        var notNumber = await GetAsync("/api/pupils/abc");
        var unknown = await GetAsync("/api/pupils/123456789");
        var negativeLimit = await PutAsync("/api/pupils/123456789/limit", """{ "dailyLimitTiyn": -1 }""");

        Assert.That(noClass.FieldError("classId"), Does.Contain("required"));
        Assert.That(textClass.FieldError("classId"), Does.Contain("wrong type"));
        Assert.That(unknownClass.FieldError("classId"), Does.Contain("create the class first"));
        Assert.That(malformed.FieldError("body"), Does.Contain("not a valid JSON object"));
        Assert.That(notNumber.FieldError("pupilId"), Does.Contain("whole number"));
        Assert.That(unknown.Status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(unknown.Body.GetProperty("detail").GetString(), Does.Contain("123456789"));
        Assert.That(negativeLimit.FieldError("dailyLimitTiyn"), Does.Contain("0 means"));
    }

    [Test]
    public async Task Cards_are_issued_idempotently_read_and_blocked()
    {
        long pupilId = await EnrolOverHttpAsync(SchoolA);
        var issued = await PutAsync("/api/cards/3922187734", $$"""{ "holderKind": "pupil", "holderId": {{pupilId}} }""");
        var repeated = await PutAsync("/api/cards/3922187734", $$"""{ "holderKind": "pupil", "holderId": {{pupilId}} }""");
        var read = await GetAsync("/api/cards/3922187734");
        var blocked = await PostAsync("/api/cards/3922187734/block", null);
        var staff = await PutAsync("/api/cards/77", """{ "holderKind": "staff", "holderId": 5 }""");
        var visitor = await PutAsync("/api/cards/79", """{ "holderKind": "visitor", "holderId": 5 }""");
        var unknown = await PostAsync("/api/cards/78/block", """{ "status": "lost" }""");
        var badStatus = await PostAsync("/api/cards/3922187734/block", """{ "status": "stolen" }""");

        Assert.That(issued.Status, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(repeated.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(read.Body.GetProperty("holderId").GetInt64(), Is.EqualTo(pupilId));
        Assert.That(blocked.Body.GetProperty("status").GetString(), Is.EqualTo("blocked"));
        Assert.That((await FeedAsync(SchoolA)).Select(c => c.Kind).TakeLast(2), Is.EqualTo(new[] { "card.upsert", "card.block" }));
        Assert.That(staff.FieldError("holderId"), Does.Contain("No staff member 5"), "staff cards are issued to staff the centre knows");
        Assert.That(visitor.FieldError("holderKind"), Does.Contain("visitor cards are issued at the school's office"));
        Assert.That(unknown.Status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(badStatus.FieldError("status"), Does.Contain("'lost'"));
    }

    [Test]
    public async Task Announcements_and_holidays_reach_the_schools_feeds()
    {
        var announced = await PostAsync("/api/announcements", """
            { "announcementId": "a-301", "region": "almaty", "title": "Короткий день", "body": "24.11 уроки до 12:00",
              "showFrom": "2026-11-23T00:00:00+05:00", "showUntil": "2026-11-24T23:59:59+05:00" }
            """);
        var both = await PostAsync("/api/announcements", """
            { "announcementId": "a-302", "region": "almaty", "schools": ["sch-0001"], "title": "t", "body": "b",
              "showFrom": "2026-11-23T00:00:00+05:00", "showUntil": "2026-11-24T00:00:00+05:00" }
            """);
        var holiday = await PutAsync($"/api/schools/{SchoolA}/holidays/2026-12-16", """{ "name": "Тәуелсіздік күні" }""");
        var badDay = await PutAsync($"/api/schools/{SchoolA}/holidays/16.12.2026", """{ "name": "x" }""");

        Assert.That(announced.Status, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(announced.Body.GetProperty("changes").EnumerateArray().Select(c => c.GetProperty("school").GetString()), Is.EqualTo(new[] { SchoolA, SchoolB }));
        Assert.That(both.FieldError("schools"), Does.Contain("not both"));
        Assert.That(holiday.Status, Is.EqualTo(HttpStatusCode.OK));
        var feedA = await FeedAsync(SchoolA);
        Assert.That(feedA.Select(c => c.Kind), Is.EqualTo(new[] { "announcement", "holiday.set" }));
        Assert.That(feedA[1].Data.GetProperty("day").GetString(), Is.EqualTo("2026-12-16"));
        Assert.That(badDay.FieldError("day"), Does.Contain("yyyy-MM-dd"));
    }

    [Test]
    public async Task Menus_and_class_schedules_reach_the_schools_feed_and_bad_ones_name_the_field()
    {
        long classId = (await PostAsync($"/api/schools/{SchoolA}/classes", """{ "name": "5Б", "grade": 5 }""")).Body.GetProperty("classId").GetInt64();
        var menu = await PutAsync($"/api/schools/{SchoolA}/menus/2026-11-24", """{ "items": [{ "menuItemId": 31, "name": "Палау", "priceTiyn": 45000 }] }""");
        var schedule = await PutAsync($"/api/schools/{SchoolA}/schedules/classes/{classId}",
            """{ "windows": [{ "weekday": 1, "from": "07:30", "until": "13:30" }, { "weekday": 2, "from": "7:30", "until": "13:30" }] }""");
        var badPrice = await PutAsync($"/api/schools/{SchoolA}/menus/2026-11-24", """{ "items": [{ "menuItemId": 31, "name": "Палау", "priceTiyn": 0 }] }""");
        var badTime = await PutAsync($"/api/schools/{SchoolA}/schedules/classes/{classId}", """{ "windows": [{ "weekday": 1, "from": "13:30", "until": "07:30" }] }""");
        var otherSchool = await PutAsync($"/api/schools/{SchoolB}/schedules/classes/{classId}", """{ "windows": [] }""");

        Assert.That(menu.Status, Is.EqualTo(HttpStatusCode.OK), menu.Body.ToString());
        Assert.That(schedule.Status, Is.EqualTo(HttpStatusCode.BadRequest), "7:30 is not HH:mm");
        Assert.That(schedule.FieldError("windows.from"), Does.Contain("HH:mm"));
        Assert.That(badPrice.FieldError("items.priceTiyn"), Does.Contain("greater than 0"));
        Assert.That(badTime.FieldError("windows.until"), Does.Contain("after"));
        Assert.That(otherSchool.Status, Is.EqualTo(HttpStatusCode.NotFound));
        var fixedSchedule = await PutAsync($"/api/schools/{SchoolA}/schedules/classes/{classId}", """{ "windows": [{ "weekday": 1, "from": "07:30", "until": "13:30" }] }""");
        Assert.That(fixedSchedule.Status, Is.EqualTo(HttpStatusCode.OK));

        var feed = await FeedAsync(SchoolA);
        Assert.That(feed.Select(c => c.Kind), Is.EqualTo(new[] { "class.upsert", "menu.publish", "schedule.replace" }));
        Assert.That(feed[1].Data.GetProperty("menuId").GetString(), Is.EqualTo("m-2026-11-24"));
        Assert.That(feed[1].Data.GetProperty("items")[0].GetProperty("priceTiyn").GetInt64(), Is.EqualTo(45000));
        Assert.That(feed[2].Data.GetProperty("appliesTo").GetString(), Is.EqualTo("class"));
        Assert.That(feed[2].Data.GetProperty("windows")[0].GetProperty("until").GetString(), Is.EqualTo("13:30"));
    }
}
