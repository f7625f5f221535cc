using Kezekshi.Edge.Agent.Ledgers.Tableau;
using Kezekshi.Edge.Agent.Store;

namespace Kezekshi.Edge.Agent.Web.Board;

/// <summary>The announcements the board shows now: the tableau ledger's (filled by the centre's downlink).</summary>
internal static class AnnouncementSource
{
    public static List<string> Current(EdgeDatabase database, DateTimeOffset now) =>
        new Announcements(database).Active(now).Take(5).Select(a => a.Text).ToList();
}
