using System.Globalization;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Devices.Cards;

namespace Kezekshi.Edge.Agent.Demo;

/// <summary>
/// A made-up school for the demo, tests and benchmarks: classes, pupils with Wiegand-26 cards,
/// staff, visitors, schedules and holidays. Names are invented; no real person is in it.
/// </summary>
public static class DemoSchool
{
    public const string SchoolId = "demo-school";
    public const byte PupilFacility = 10;
    public const byte StaffFacility = 20;
    public const byte VisitorFacility = 30;

    private static readonly string[] s_given = ["Aruzhan", "Alikhan", "Amina", "Nurlan", "Dana", "Yerlan", "Aisha", "Timur", "Madina", "Arman", "Zarina", "Daniyar", "Aigerim", "Sultan", "Kamila", "Ilyas", "Tomiris", "Rustam", "Saule", "Askar"];
    private static readonly string[] s_family = ["Abenov", "Bekova", "Dzhaksybekov", "Ermekova", "Ibraimov", "Kasymova", "Mukanov", "Nurpeisova", "Omarov", "Sadykova", "Tokayev", "Utepova", "Zhunusov", "Akhmetova", "Baimukhanov"];

    /// <summary>Card number of demo pupil <paramref name="pupilId"/> (1-based).</summary>
    public static ulong PupilCard(int pupilId) => Wiegand.CanonicalNumber(PupilFacility, (ushort)pupilId);
    public static ulong StaffCard(int staffId) => Wiegand.CanonicalNumber(StaffFacility, (ushort)staffId);
    public static ulong VisitorCard(int visitorId) => Wiegand.CanonicalNumber(VisitorFacility, (ushort)visitorId);

    /// <summary>Pupil IDs whose cards are blocked (every 97th) and lost (every 211th).</summary>
    public static bool IsBlocked(int pupilId) => pupilId % 97 == 0;
    public static bool IsLost(int pupilId) => pupilId % 211 == 0 && !IsBlocked(pupilId);

    /// <summary>Fills an empty store. Returns false (and changes nothing) if the school already exists.</summary>
    public static bool Seed(EdgeDatabase database, DateTimeOffset today, int pupils = 1200, int classes = 40, int staff = 80, int visitors = 3)
    {
        ArgumentNullException.ThrowIfNull(database);
        using var connection = database.Connect();
        using (var exists = connection.CreateCommand())
        {
            exists.CommandText = "SELECT COUNT(*) FROM school";
            if (Convert.ToInt64(exists.ExecuteScalar(), CultureInfo.InvariantCulture) > 0) return false;
        }
        using var transaction = connection.BeginTransaction();
        void Exec(string sql, params (string, object?)[] parameters)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
            command.ExecuteNonQuery();
        }
        string now = today.ToString("O", CultureInfo.InvariantCulture);
        Exec("INSERT INTO school(id, name, time_zone) VALUES ($id, 'Demo School No. 1', 'Asia/Almaty')", ("$id", SchoolId));
        for (int c = 1; c <= classes; c++)
        {
            int grade = 1 + (c - 1) * 11 / classes;
            Exec("INSERT INTO classes(id, name, grade) VALUES ($id, $name, $grade)", ("$id", c), ("$name", $"{grade}{"ABCDEFGH"[(c - 1) % 4]}-{c}"), ("$grade", grade));
            // Lessons Monday–Saturday; pupils may come in 07:00–18:30.
            for (int day = 1; day <= 6; day++)
                Exec("INSERT INTO schedules(applies_to, class_id, weekday, from_time, until_time) VALUES ('class', $c, $d, '07:00', '18:30')", ("$c", c), ("$d", day));
        }
        using (var pupil = connection.CreateCommand())
        using (var card = connection.CreateCommand())
        {
            pupil.Transaction = transaction;
            pupil.CommandText = "INSERT INTO pupils(id, class_id, full_name) VALUES ($id, $class, $name)";
            var pid = pupil.Parameters.Add("$id", Microsoft.Data.Sqlite.SqliteType.Integer);
            var pclass = pupil.Parameters.Add("$class", Microsoft.Data.Sqlite.SqliteType.Integer);
            var pname = pupil.Parameters.Add("$name", Microsoft.Data.Sqlite.SqliteType.Text);
            card.Transaction = transaction;
            card.CommandText = "INSERT INTO credentials(card_number, holder_kind, holder_id, status, issued_at) VALUES ($card, 'pupil', $id, $status, $at)";
            var ccard = card.Parameters.Add("$card", Microsoft.Data.Sqlite.SqliteType.Integer);
            var cid = card.Parameters.Add("$id", Microsoft.Data.Sqlite.SqliteType.Integer);
            var cstatus = card.Parameters.Add("$status", Microsoft.Data.Sqlite.SqliteType.Text);
            card.Parameters.AddWithValue("$at", now);
            for (int p = 1; p <= pupils; p++)
            {
                pid.Value = p;
                pclass.Value = 1 + (p - 1) % classes;
                pname.Value = $"{s_given[p % s_given.Length]} {s_family[(p / s_given.Length) % s_family.Length]}";
                pupil.ExecuteNonQuery();
                ccard.Value = (long)PupilCard(p);
                cid.Value = p;
                cstatus.Value = IsBlocked(p) ? "blocked" : IsLost(p) ? "lost" : "active";
                card.ExecuteNonQuery();
            }
        }
        string[] roles = ["teacher", "teacher", "teacher", "guard", "canteen", "office", "it", "service"];
        for (int s = 1; s <= staff; s++)
        {
            Exec("INSERT INTO staff(id, full_name, role) VALUES ($id, $name, $role)", ("$id", s), ("$name", $"{s_given[(s * 7) % s_given.Length]} {s_family[(s * 3) % s_family.Length]}"), ("$role", roles[s % roles.Length]));
            Exec("INSERT INTO credentials(card_number, holder_kind, holder_id, status, issued_at) VALUES ($card, 'staff', $id, 'active', $at)", ("$card", (long)StaffCard(s)), ("$id", s), ("$at", now));
        }
        for (int v = 1; v <= visitors; v++)
        {
            // Visitor 1 is valid today; the last one's pass expired yesterday (the demo shows the refusal).
            var from = v == visitors ? today.AddDays(-2) : today.AddHours(-2);
            var until = v == visitors ? today.AddDays(-1) : today.AddHours(8);
            Exec("INSERT INTO visitors(id, full_name, purpose, host_staff_id, valid_from, valid_until) VALUES ($id, $name, 'meeting', 1, $from, $until)",
                ("$id", v), ("$name", $"Visitor {v}"), ("$from", from.ToString("O", CultureInfo.InvariantCulture)), ("$until", until.ToString("O", CultureInfo.InvariantCulture)));
            Exec("INSERT INTO credentials(card_number, holder_kind, holder_id, status, issued_at) VALUES ($card, 'visitor', $id, 'active', $at)", ("$card", (long)VisitorCard(v)), ("$id", v), ("$at", now));
        }
        Exec("INSERT INTO holidays(day, name) VALUES ('2027-01-01', 'New Year'), ('2027-03-22', 'Nauryz'), ('2026-12-16', 'Independence Day')");
        transaction.Commit();
        return true;
    }
}
