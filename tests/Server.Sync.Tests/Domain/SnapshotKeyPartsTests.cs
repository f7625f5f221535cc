using System.Text;
using System.Text.Json;
using Kezekshi.Server.Sync.Domain;

namespace Kezekshi.Server.Sync.Tests.Domain;

/// <summary>
/// How a snapshot's key lists are cut into <c>snapshot.keys</c> parts (docs/sync-protocol.md §5.4): every part within the
/// byte budget and the per-list item limit, numbered from 1, and together exactly the keys given, in order.
/// </summary>
[Category("Unit")]
public sealed class SnapshotKeyPartsTests
{
    private static Dictionary<string, List<string>> Joined(IEnumerable<string> parts)
    {
        var lists = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (string part in parts)
        {
            using var document = JsonDocument.Parse(part);
            foreach (var list in document.RootElement.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Array))
            {
                if (!lists.TryGetValue(list.Name, out var all)) lists[list.Name] = all = [];
                all.AddRange(list.Value.EnumerateArray().Select(k => k.ValueKind == JsonValueKind.String ? k.GetString()! : k.GetRawText()));
            }
        }
        return lists;
    }

    [Test]
    public void Parts_stay_within_the_byte_budget_and_the_item_limit_and_carry_every_key_once_in_order()
    {
        var pupils = Enumerable.Range(1, 2_500).Select(i => 100_000_000_000_000L + i).ToList();
        var consents = Enumerable.Range(1, 700).Select(i => $"cs-{i:x16}").ToList();
        var announcements = new List<string> { "a-\"quoted\"", "a-жаңалық" }; // escaped and non-ASCII keys count at their encoded size
        Snapshots.KeyList[] lists = [Snapshots.KeyList.Of("pupils", pupils), Snapshots.KeyList.Of("staff", Array.Empty<long>()),
            Snapshots.KeyList.Of("consents", consents), Snapshots.KeyList.Of("announcements", announcements)];

        var parts = Snapshots.KeyParts("snap-1", lists, maxBytes: 8 * 1024, maxItems: 300);

        Assert.That(parts.Max(p => Encoding.UTF8.GetByteCount(p)), Is.LessThanOrEqualTo(8 * 1024));
        var numbers = new List<int>();
        foreach (string part in parts)
        {
            using var document = JsonDocument.Parse(part);
            Assert.That(document.RootElement.GetProperty("snapshotId").GetString(), Is.EqualTo("snap-1"));
            numbers.Add(document.RootElement.GetProperty("part").GetInt32());
            foreach (var list in document.RootElement.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Array))
                Assert.That(list.Value.GetArrayLength(), Is.InRange(1, 300), $"{list.Name} in part {numbers[^1]}");
        }
        Assert.That(numbers, Is.EqualTo(Enumerable.Range(1, parts.Count)));
        var joined = Joined(parts);
        Assert.That(joined["pupils"], Is.EqualTo(pupils.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        Assert.That(joined["consents"], Is.EqualTo(consents));
        Assert.That(joined["announcements"], Is.EqualTo(announcements));
        Assert.That(joined.ContainsKey("staff"), Is.False, "an empty list takes no room; snapshot.end counts it as 0");
    }

    [Test]
    public void A_school_with_nothing_still_gets_one_part_so_its_snapshot_can_end()
    {
        var parts = Snapshots.KeyParts("snap-2", [Snapshots.KeyList.Of("pupils", Array.Empty<long>())]);
        Assert.That(parts, Has.Count.EqualTo(1));
        Assert.That(parts[0], Is.EqualTo("""{"snapshotId":"snap-2","part":1}"""));
    }
}
