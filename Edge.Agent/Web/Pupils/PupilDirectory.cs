using System.Globalization;
using Kezekshi.Edge.Agent.Store;

namespace Kezekshi.Edge.Agent.Web.Pupils;

/// <summary>A pupil as the till and the library desk show them to confirm who is in front of them.</summary>
public sealed record PupilCard(long PupilId, string FullName, string ClassName, string CardStatus, string PhotoUrl);

/// <summary>A card number typed by a keyboard-wedge reader could not be used; the message says why.</summary>
public sealed record CardLookupProblem(string Message, string Code);

/// <summary>Finds the pupil for a card number as a keyboard-wedge reader types it (the card's decimal number).</summary>
public sealed class PupilDirectory(EdgeDatabase database)
{
    public (PupilCard? Pupil, CardLookupProblem? Problem) FindByCard(string? typed)
    {
        string digits = (typed ?? "").Trim();
        if (digits.Length == 0 || digits.Length > 20 || !ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out ulong card))
            return (null, new CardLookupProblem($"'{digits}' is not a card number. Tap the card on the reader again (the reader types the number and Enter).", "bad-card-number"));
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT c.holder_kind, c.holder_id, c.status, p.full_name, cl.name, p.status
            FROM credentials c
            LEFT JOIN pupils p ON c.holder_kind = 'pupil' AND p.id = c.holder_id
            LEFT JOIN classes cl ON cl.id = p.class_id
            WHERE c.card_number = $card
            """;
        command.Parameters.AddWithValue("$card", (long)card);
        using var reader = command.ExecuteReader();
        if (!reader.Read()) return (null, new CardLookupProblem($"Card {card} is not known at this school. Send the pupil to the office.", "unknown-card"));
        if (reader.GetString(0) != "pupil" || reader.IsDBNull(3)) return (null, new CardLookupProblem($"Card {card} is not a pupil's card.", "not-a-pupil"));
        string status = reader.GetString(2);
        if (status != "active") return (null, new CardLookupProblem($"Card {card} is {status}: the office must issue a new one.", "card-" + status));
        if (reader.GetString(5) != "active") return (null, new CardLookupProblem("This pupil has left the school.", "pupil-left"));
        long id = reader.GetInt64(1);
        return (new PupilCard(id, reader.GetString(3), reader.IsDBNull(4) ? "" : reader.GetString(4), status, $"/api/pupils/{id}/photo"), null);
    }

    public PupilCard? Find(long pupilId)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT p.full_name, cl.name FROM pupils p LEFT JOIN classes cl ON cl.id = p.class_id WHERE p.id = $id";
        command.Parameters.AddWithValue("$id", pupilId);
        using var reader = command.ExecuteReader();
        return reader.Read() ? new PupilCard(pupilId, reader.GetString(0), reader.IsDBNull(1) ? "" : reader.GetString(1), "active", $"/api/pupils/{pupilId}/photo") : null;
    }

    /// <summary>Pupils whose name, class or id matches <paramref name="text"/> (the IT console's pupil picker), at most <paramref name="max"/>.</summary>
    public IReadOnlyList<PupilCard> Search(string? text, int max = 20)
    {
        string query = (text ?? "").Trim();
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT p.id, p.full_name, cl.name, p.status FROM pupils p LEFT JOIN classes cl ON cl.id = p.class_id
            WHERE $q = '' OR p.full_name LIKE '%' || $q || '%' OR cl.name = $q OR CAST(p.id AS TEXT) = $q
            ORDER BY cl.name, p.full_name LIMIT $max
            """;
        command.Parameters.AddWithValue("$q", query);
        command.Parameters.AddWithValue("$max", max);
        using var reader = command.ExecuteReader();
        var list = new List<PupilCard>();
        while (reader.Read())
        {
            long id = reader.GetInt64(0);
            list.Add(new PupilCard(id, reader.GetString(1), reader.IsDBNull(2) ? "" : reader.GetString(2), reader.GetString(3), $"/api/pupils/{id}/photo"));
        }
        return list;
    }
}
