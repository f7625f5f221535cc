using Kezekshi.Edge.Agent.Store;

namespace Kezekshi.Edge.Agent.Web.Board;

/// <summary>
/// The announcements the board shows. The table belongs to the tableau ledger (filled by the centre's downlink);
/// until that table exists in this store the board shows none.
/// </summary>
internal static class AnnouncementSource
{
    public static List<string> Current(EdgeDatabase database, DateTimeOffset now)
    {
        _ = now;
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'announcements'";
        if (Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0) return [];
        return [];
    }
}
