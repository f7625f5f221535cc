using System.Globalization;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Consent;

namespace Kezekshi.Edge.Agent.Recognition;

/// <summary>One consent form as recorded, including withdrawn and expired ones (the IT console shows the history).</summary>
public sealed record ConsentRecordView(long Id, ConsentGrant Grant, DateTimeOffset RecordedAt, DateTimeOffset? WithdrawnAt)
{
    /// <summary>Counts towards the effective mask at <paramref name="now"/> (not withdrawn, given, not expired).</summary>
    public bool IsActiveAt(DateTimeOffset now) => WithdrawnAt is null && Grant.GivenAt <= now && now < Grant.ExpiresAt;
}

/// <summary>One objection as recorded, lifted or not.</summary>
public sealed record ObjectionView(long Id, bool ByPupil, string? GuardianId, DateTimeOffset RecordedAt, string Operator, string Note, DateTimeOffset? LiftedAt);

/// <summary>
/// Reads a pupil's consent forms and objections from biometrics.db for display. Read-only: every change goes
/// through <see cref="ConsentService"/>, which validates, audits and pushes the purpose mask.
/// </summary>
/// <remarks>
/// Consent forms and objections are not biometric data (no template or photo is read), so reading them is not
/// an audited template access; the changes themselves are audited by <see cref="ConsentService"/>.
/// </remarks>
public static class ConsentHistory
{
    /// <summary>Every consent row of the pupil, oldest first (a partly withdrawn form appears as the withdrawn row and its re-recorded rest).</summary>
    public static IReadOnlyList<ConsentRecordView> Consents(BiometricsModule module, long pupilId)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var connection = module.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, guardian_id, guardian_name, given_at, document_sha256, purposes, expires_at, operator, no_cross_border, recorded_at, withdrawn_at
            FROM consents WHERE pupil_id = $p ORDER BY id
            """;
        command.Parameters.AddWithValue("$p", pupilId);
        using var reader = command.ExecuteReader();
        var list = new List<ConsentRecordView>();
        while (reader.Read())
        {
            var grant = new ConsentGrant(pupilId, reader.GetString(1), reader.GetString(2), Parse(reader.GetString(3)), reader.GetString(4),
                (BiometricPurpose)reader.GetInt32(5), Parse(reader.GetString(6)), reader.GetString(7), reader.GetInt32(8) == 1);
            list.Add(new ConsentRecordView(reader.GetInt64(0), grant, Parse(reader.GetString(9)), reader.IsDBNull(10) ? null : Parse(reader.GetString(10))));
        }
        return list;
    }

    /// <summary>Every objection of the pupil, oldest first.</summary>
    public static IReadOnlyList<ObjectionView> Objections(BiometricsModule module, long pupilId)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var connection = module.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, by_pupil, guardian_id, recorded_at, operator, note, lifted_at FROM objections WHERE pupil_id = $p ORDER BY id";
        command.Parameters.AddWithValue("$p", pupilId);
        using var reader = command.ExecuteReader();
        var list = new List<ObjectionView>();
        while (reader.Read())
            list.Add(new ObjectionView(reader.GetInt64(0), reader.GetInt32(1) == 1, reader.IsDBNull(2) ? null : reader.GetString(2), Parse(reader.GetString(3)),
                reader.GetString(4), reader.GetString(5), reader.IsDBNull(6) ? null : Parse(reader.GetString(6))));
        return list;
    }

    private static DateTimeOffset Parse(string value) => DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
