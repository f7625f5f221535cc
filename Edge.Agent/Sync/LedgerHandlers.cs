using System.Globalization;
using System.Text.Json;
using Kezekshi.Edge.Agent.Ledgers;
using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Kezekshi.Edge.Agent.Ledgers.Tableau;

namespace Kezekshi.Edge.Agent.Sync;

/// <summary>
/// Downlink kinds that belong to the canteen and the board (docs/sync-protocol.md §5.1, §6 money): top-ups (the centre is
/// authoritative for them; applied once by the centre's top-up id), parents' daily limits, the published menu and
/// announcements. Each goes through the ledger's own API and transaction, so the ledger's rules hold whoever calls.
/// </summary>
public sealed class LedgerHandlers(CanteenLedger canteen, Announcements announcements) : IDownlinkHandler
{
    public IReadOnlyCollection<string> Kinds { get; } = ["topup", "limits.set", "menu.publish", "announcement", "announcement.withdraw"];

    public bool OwnTransaction => true;

    public void Apply(DownlinkChange change, DownlinkContext context)
    {
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            switch (change.Kind)
            {
                case "topup":
                {
                    long amount = change.Long("amountTiyn");
                    if (amount <= 0) throw new DownlinkRejection($"topup.amountTiyn must be positive, not {amount}");
                    canteen.ApplyTopUp(change.String("topupId", 100), change.Long("pupilId"), amount, Time(change, "at") ?? context.Now);
                    break;
                }
                case "limits.set":
                {
                    long? limit = change.Data.TryGetProperty("dailyLimitTiyn", out var l) && l.ValueKind == JsonValueKind.Number ? l.GetInt64() : null;
                    canteen.SetDailyLimit(change.Long("pupilId"), limit, "centre (parent)", context.Now);
                    break;
                }
                case "menu.publish":
                    if (!change.Data.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
                        throw new DownlinkRejection("menu.publish.items is missing or not an array");
                    foreach (var item in items.EnumerateArray()) canteen.UpsertMenuItem(MenuItem(item));
                    break;
                case "announcement":
                {
                    string title = change.String("title", 200);
                    string? body = change.OptionalString("body");
                    announcements.Upsert(change.String("announcementId", 100), body is { Length: > 0 } ? $"{title}: {body}" : title,
                        Time(change, "showFrom") ?? context.Now, Time(change, "showUntil"), context.Now);
                    break;
                }
                case "announcement.withdraw":
                    announcements.Remove(change.String("announcementId", 100));
                    break;
                default:
                    throw new DownlinkRejection($"LedgerHandlers does not apply {change.Kind}");
            }
        }
        catch (Exception e) when (e is LedgerException or ArgumentException)
        {
            throw new DownlinkRejection(e.Message, e);
        }
    }

    private static MenuItemDraft MenuItem(JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.Object
            || !item.TryGetProperty("menuItemId", out var id) || !id.TryGetInt64(out long menuItemId)
            || !item.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
            || !item.TryGetProperty("priceTiyn", out var price) || !price.TryGetInt64(out long priceTiyn))
            throw new DownlinkRejection("menu.publish.items[] needs menuItemId, name and priceTiyn");
        var allergens = item.TryGetProperty("allergens", out var a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList()
            : [];
        bool isMeal = item.TryGetProperty("isMeal", out var m) && m.ValueKind == JsonValueKind.True;
        string category = item.TryGetProperty("category", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "other";
        // The centre's menu item id is the stable key: the same item published again updates its price, not a copy.
        return new MenuItemDraft("c-" + menuItemId.ToString(CultureInfo.InvariantCulture), name.GetString()!, priceTiyn, category, isMeal, allergens);
    }

    private static DateTimeOffset? Time(DownlinkChange change, string name)
    {
        string? text = change.OptionalString(name);
        if (text is null) return null;
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at)
            ? at
            : throw new DownlinkRejection($"{change.Kind}.{name} \"{text}\" is not a timestamp");
    }
}

/// <summary>
/// Tells the canteen whether the centre is reachable, from the sync session: connected, or heard from within
/// <see cref="Grace"/>. Offline, the canteen caps each pupil's spending per day (docs/ledgers.md).
/// </summary>
public sealed class SyncReachability(Func<SyncSession?> session, Func<bool> connected, TimeProvider? time = null) : ICentreReachability
{
    public TimeSpan Grace { get; init; } = TimeSpan.FromMinutes(5);

    public bool IsCentreReachable
    {
        get
        {
            if (connected()) return true;
            var heard = session()?.LastHeardFromCentre;
            return heard is { } at && (time ?? TimeProvider.System).GetUtcNow() - at < Grace;
        }
    }
}
