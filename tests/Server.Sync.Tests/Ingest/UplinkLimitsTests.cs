using System.Text;
using Kezekshi.Server.Sync.Ingest;

namespace Kezekshi.Server.Sync.Tests.Ingest;

/// <summary>The field limits of up/events (docs/sync-protocol.md §4.1 "Field limits") and the storable form of quoted text.</summary>
[Category("Unit")]
public sealed class UplinkLimitsTests
{
    [TestCase("canteen.charge", """{"pupilId": 480001}""", null)]
    [TestCase("canteen.charge", """{"pupilId": null}""", null)]
    [TestCase("canteen.charge", """{"uid": "c-1"}""", null)]
    [TestCase("canteen.refund", """{"pupilId": "480001"}""", null)]
    [TestCase("canteen.refund", """{"nested": {"pupilId": "PLACEHOLDER65"}}""", null)]
    [TestCase("library.loan", """{"pupilId": "PLACEHOLDER65"}""", null)]
    [TestCase("canteen.charge", """{"pupilId": "PLACEHOLDER64"}""", null)]
    [TestCase("canteen.charge", """{"pupilId": "PLACEHOLDER65"}""", "pupilId is 65 characters long, limit 64")]
    [TestCase("canteen.charge", """{"pupilId": 1, "pupilId": "PLACEHOLDER65"}""", "pupilId is 65 characters long, limit 64")]
    [TestCase("canteen.charge", """{"pupilId": "\u00e9\u00e9"}""", null)]
    [TestCase("canteen.refund", """{"pupilId": 12345678901234567890123456789012345678901234567890123456789012345}""", "pupilId is a number of 65 bytes, limit 64")]
    [TestCase("canteen.refund", """{"pupilId": 1e100000}""", null)]
    [TestCase("canteen.refund", """{"pupilId": ["PLACEHOLDER64"]}""", "pupilId is an array of 68 bytes, limit 64")]
    [TestCase("canteen.refund", """{"pupilId": {"id": "PLACEHOLDER64"}}""", "pupilId is an object of 74 bytes, limit 64")]
    public void The_pupil_id_of_canteen_money_events_is_held_to_its_limit(string type, string json, string? problem)
    {
        json = json.Replace("PLACEHOLDER65", new string('7', 65), StringComparison.Ordinal).Replace("PLACEHOLDER64", new string('7', 64), StringComparison.Ordinal);

        Assert.That(UplinkLimits.CheckIndexedFields(type, Encoding.UTF8.GetBytes(json)), Is.EqualTo(problem));
    }

    [Test]
    public void An_escaped_pupil_id_counts_its_characters_not_its_escapes()
    {
        string escaped = string.Concat(Enumerable.Repeat("\\u0037", 64)); // 64 characters, 384 bytes of JSON

        Assert.That(UplinkLimits.CheckIndexedFields("canteen.charge", Encoding.UTF8.GetBytes($$"""{"pupilId": "{{escaped}}"}""")), Is.Null);
        Assert.That(UplinkLimits.CheckIndexedFields("canteen.charge", Encoding.UTF8.GetBytes($$"""{"pupilId": "{{escaped}}7"}""")),
            Is.EqualTo("pupilId is 65 characters long, limit 64"));
    }

    [TestCase("plain text", 100, "plain text")]
    [TestCase("a\0b", 100, "a\uFFFDb")]
    [TestCase("smile \ud83d\ude00", 100, "smile \ud83d\ude00")]
    [TestCase("abcdef", 3, "abc…")]
    [TestCase("ab\ud83d\ude00", 3, "ab\uFFFD…")] // the cut splits the pair: the half left is not stored as is
    public void Text_is_made_storable_and_bounded(string text, int max, string expected)
    {
        string storable = UplinkLimits.Storable(text, max);

        Assert.That(storable, Is.EqualTo(expected));
        Assert.That(() => new UTF8Encoding(false, true).GetBytes(storable), Throws.Nothing, "valid UTF-16, so valid UTF-8 on the wire");
    }

    [Test]
    public void A_lone_surrogate_becomes_a_replacement_character()
    {
        // Built in code: a lone surrogate in an attribute argument does not survive into the test's metadata.
        string high = "lone " + (char)0xD800 + " high", low = "lone " + (char)0xDC00 + " low";

        Assert.That((UplinkLimits.Storable(high, 100), UplinkLimits.Storable(low, 100)), Is.EqualTo(("lone \uFFFD high", "lone \uFFFD low")));
    }

    [Test]
    public void Text_that_needs_nothing_is_returned_as_it_is()
    {
        const string text = "kz/v1/almaty/sch-0001/up/events";

        Assert.That(UplinkLimits.Storable(text, 512), Is.SameAs(text));
    }
}
