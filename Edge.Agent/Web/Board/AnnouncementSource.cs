using System.Globalization;
using Kezekshi.Edge.Agent.Store;

namespace Kezekshi.Edge.Agent.Web.Board;

/// <summary>
/// The announcements the board shows now, read from the tableau ledger's <c>announcements</c> table (filled by the
/// centre's downlink). A thin read-only adapter: the table and its writes belong to the ledgers.
/// </summary>
internal static class AnnouncementSource
{
    public static List<string> Current(EdgeDatabase database, DateTimeOffset now)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'announcements'";
        if (Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) == 0) return [];
        command.CommandText = "SELECT text, valid_from, valid_until FROM announcements ORDER BY valid_from DESC, id DESC LIMIT 50";
        using var reader = command.ExecuteReader();
        var list = new List<string>();
        while (reader.Read())
        {
            // Times are compared parsed, not as text: stored values may carry different offsets.
            if (!DateTimeOffset.TryParse(reader.GetString(1), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var from) || from > now) continue;
            if (!reader.IsDBNull(2) && DateTimeOffset.TryParse(reader.GetString(2), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var until) && until <= now) continue;
            list.Add(reader.GetString(0));
            if (list.Count == 5) break;
        }
        return list;
    }
}
