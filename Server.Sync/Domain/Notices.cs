using System.Globalization;
using Kezekshi.Server.Sync.Store;

namespace Kezekshi.Server.Sync.Domain;

/// <summary>Announcements and holidays sent to schools' feeds.</summary>
/// <remarks>The school applies both as upserts by their key, so sending the same announcement again is harmless.</remarks>
public sealed class Notices(CentreDatabase database)
{
    /// <summary>Sends an announcement to the listed schools, or to every school of a region; returns the versions written.</summary>
    public Task<ChangeReceipt> AnnounceAsync(AnnouncementRequest request, CancellationToken cancellationToken)
    {
        var data = new AnnouncementData(Check.Id(request.AnnouncementId, "announcementId"), Check.Text(request.Title, "title", 200),
            Check.Text(request.Body, "body", 4000), Check.Required(request.ShowFrom, "showFrom"), Check.Required(request.ShowUntil, "showUntil"));
        if (data.ShowUntil <= data.ShowFrom) throw CentreRequestException.Invalid("showUntil", "showUntil must be after showFrom.");
        bool bySchools = request.Schools is { Count: > 0 };
        if (bySchools == (request.Region is not null))
            throw CentreRequestException.Invalid("schools", "Give either schools (a list of school IDs) or region, not both and not neither.");
        var schools = bySchools ? request.Schools!.Select(s => Check.School(s, "schools")).Distinct().Order(StringComparer.Ordinal).ToList() : null;
        string? region = bySchools ? null : Check.Region(request.Region);
        return database.InTransactionAsync("sending an announcement from", async (connection, transaction, ct) =>
        {
            var targets = await Sql.ListAsync(Sql.Command(connection, transaction,
                "SELECT id FROM schools WHERE ($1::text[] IS NULL OR id = ANY($1)) AND ($2::text IS NULL OR region = $2) ORDER BY id",
                new Npgsql.NpgsqlParameter { Value = (object?)schools?.ToArray() ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text },
                Sql.Nullable(region)), r => r.GetString(0), ct).ConfigureAwait(false);
            if (schools is not null && schools.Except(targets).FirstOrDefault() is { } unknown)
                throw CentreRequestException.NotFound($"School {unknown} is not registered: check the schools list.");
            if (targets.Count == 0) throw CentreRequestException.NotFound($"No school is registered in region {region}.");
            var written = new List<SchoolVersion>();
            foreach (string school in targets)
                written.Add(new SchoolVersion(school, await ChangeFeed.AppendAsync(connection, transaction, school, ChangeKinds.Announcement, data,
                    DownlinkJsonContext.Default.AnnouncementData, ct).ConfigureAwait(false)));
            return new ChangeReceipt(ChangeKinds.Announcement, written);
        }, cancellationToken);
    }

    /// <summary>Marks a day as a holiday at a school (<c>holiday.set</c>).</summary>
    public Task<ChangeReceipt> SetHolidayAsync(string? school, DateOnly day, HolidayRequest request, CancellationToken cancellationToken)
    {
        string id = Check.School(school);
        var data = new HolidayData(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), Check.Text(request.Name, "name", 100));
        return database.InTransactionAsync("setting a holiday in", async (connection, transaction, ct) =>
        {
            await Roster.RequireSchoolAsync(connection, transaction, id, ct).ConfigureAwait(false);
            long version = await ChangeFeed.AppendAsync(connection, transaction, id, ChangeKinds.HolidaySet, data, DownlinkJsonContext.Default.HolidayData, ct).ConfigureAwait(false);
            return new ChangeReceipt(ChangeKinds.HolidaySet, [new SchoolVersion(id, version)]);
        }, cancellationToken);
    }
}
