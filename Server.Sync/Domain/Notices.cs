using System.Globalization;
using Kezekshi.Server.Sync.Store;

namespace Kezekshi.Server.Sync.Domain;

/// <summary>Announcements, holidays, menus and class schedules sent to schools' feeds.</summary>
/// <remarks>The school applies each as an upsert or a replacement by its key, so sending the same one again is harmless.</remarks>
public sealed class Notices(CentreDatabase database)
{
    /// <summary>Sends an announcement to the listed schools, or to every school of a region; returns the versions written.</summary>
    public Task<ChangeReceipt> AnnounceAsync(AnnouncementRequest request, CancellationToken cancellationToken)
    {
        var data = new AnnouncementData(Check.Id(request.AnnouncementId, "announcementId"), Check.Text(request.Title, "title", 200),
            Check.Text(request.Body, "body", 4000), Check.Required(request.ShowFrom, "showFrom"), Check.Required(request.ShowUntil, "showUntil"));
        if (data.ShowUntil <= data.ShowFrom) throw CentreRequestException.Invalid("showUntil", "showUntil must be after showFrom.");
        return AppendToSchoolsAsync(request.Schools, request.Region, ChangeKinds.Announcement, data, DownlinkJsonContext.Default.AnnouncementData,
            "sending an announcement from", cancellationToken);
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

    /// <summary>Makes a holiday a school day again (<c>holiday.remove</c>).</summary>
    public Task<ChangeReceipt> RemoveHolidayAsync(string? school, DateOnly day, CancellationToken cancellationToken) =>
        AppendOneAsync(Check.School(school), ChangeKinds.HolidayRemove, new HolidayRemoveData(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
            DownlinkJsonContext.Default.HolidayRemoveData, null, cancellationToken);

    /// <summary>Withdraws an announcement from the listed schools or a region's schools (<c>announcement.withdraw</c>).</summary>
    public Task<ChangeReceipt> WithdrawAnnouncementAsync(string? announcementId, AnnouncementWithdrawRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var data = new AnnouncementWithdrawData(Check.Id(announcementId, "announcementId"));
        return AppendToSchoolsAsync(request.Schools, request.Region, ChangeKinds.AnnouncementWithdraw, data, DownlinkJsonContext.Default.AnnouncementWithdrawData,
            "withdrawing an announcement in", cancellationToken);
    }

    /// <summary>
    /// Appends one change to the feed of each listed school, or of every school of a region (exactly one of the two), in
    /// one transaction; an unknown school or an empty region is a 404 and writes nothing.
    /// </summary>
    private Task<ChangeReceipt> AppendToSchoolsAsync<T>(IReadOnlyList<string>? listed, string? requestedRegion, string kind, T data,
        System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, string doing, CancellationToken cancellationToken)
    {
        bool bySchools = listed is { Count: > 0 };
        if (bySchools == (requestedRegion is not null))
            throw CentreRequestException.Invalid("schools", "Give either schools (a list of school IDs) or region, not both and not neither.");
        var schools = bySchools ? listed!.Select(s => Check.School(s, "schools")).Distinct().Order(StringComparer.Ordinal).ToList() : null;
        string? region = bySchools ? null : Check.Region(requestedRegion);
        return database.InTransactionAsync(doing, async (connection, transaction, ct) =>
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
                written.Add(new SchoolVersion(school, await ChangeFeed.AppendAsync(connection, transaction, school, kind, data, typeInfo, ct).ConfigureAwait(false)));
            return new ChangeReceipt(kind, written);
        }, cancellationToken);
    }

    /// <summary>Replaces the windows when staff of a role may pass (<c>schedule.replace</c> with <c>appliesTo: role</c>).</summary>
    public Task<ChangeReceipt> ReplaceRoleScheduleAsync(string? school, string? role, ScheduleRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string id = Check.School(school);
        string checkedRole = StaffRoster.RoleOf(role);
        return AppendOneAsync(id, ChangeKinds.ScheduleReplace, new RoleScheduleData("role", checkedRole, Windows(request)), DownlinkJsonContext.Default.RoleScheduleData,
            null, cancellationToken);
    }

    /// <summary>Publishes a day's menu to a school (<c>menu.publish</c>).</summary>
    public Task<ChangeReceipt> PublishMenuAsync(string? school, DateOnly day, MenuRequest request, CancellationToken cancellationToken)
    {
        string id = Check.School(school);
        string dayText = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        string menuId = request.MenuId is null ? $"m-{dayText}" : Check.Id(request.MenuId, "menuId");
        if (request.Items is not { Count: > 0 and <= 200 } items)
            throw CentreRequestException.Invalid("items", "items must list 1–200 dishes, each with menuItemId, name and priceTiyn.");
        var dishes = new List<MenuItemData>(items.Count);
        foreach (var item in items)
        {
            if (item is null) throw CentreRequestException.Invalid("items", "items holds a null dish.");
            long itemId = Check.Positive(item.MenuItemId, "items.menuItemId");
            long price = Check.Positive(item.PriceTiyn, "items.priceTiyn");
            if (price > CanteenMoney.MaxTopupTiyn) throw CentreRequestException.Invalid("items.priceTiyn", $"priceTiyn {price} of dish {itemId} is implausible: prices are in tiyn (1 ₸ = 100 tiyn).");
            if (dishes.Any(d => d.MenuItemId == itemId)) throw CentreRequestException.Invalid("items.menuItemId", $"menuItemId {itemId} appears twice.");
            dishes.Add(new MenuItemData(itemId, Check.Text(item.Name, "items.name", 100), price));
        }
        return AppendOneAsync(id, ChangeKinds.MenuPublish, new MenuData(menuId, dayText, dishes), DownlinkJsonContext.Default.MenuData, null, cancellationToken);
    }

    /// <summary>Replaces the windows when a class may pass (<c>schedule.replace</c>); the class must belong to the school.</summary>
    public Task<ChangeReceipt> ReplaceClassScheduleAsync(string? school, long classId, ScheduleRequest request, CancellationToken cancellationToken)
    {
        string id = Check.School(school);
        var checkedWindows = Windows(request);
        return AppendOneAsync(id, ChangeKinds.ScheduleReplace, new ScheduleData("class", classId, checkedWindows), DownlinkJsonContext.Default.ScheduleData,
            async (connection, transaction, ct) =>
            {
                await using var find = Sql.Command(connection, transaction, "SELECT 1 FROM classes WHERE id = $1 AND school = $2", classId, id);
                if (await find.ExecuteScalarAsync(ct).ConfigureAwait(false) is null)
                    throw CentreRequestException.NotFound($"School {id} has no class {classId}: list its classes (GET /api/schools/{id}/classes).");
            }, cancellationToken);
    }

    private static List<ScheduleWindowData> Windows(ScheduleRequest request)
    {
        if (request.Windows is not { Count: <= 50 } windows)
            throw CentreRequestException.Invalid("windows", "windows is required: a list of at most 50 { weekday, from, until } (an empty list means any time).");
        var checkedWindows = new List<ScheduleWindowData>(windows.Count);
        foreach (var window in windows)
        {
            if (window is null) throw CentreRequestException.Invalid("windows", "windows holds a null window.");
            int weekday = Check.Required(window.Weekday, "windows.weekday");
            if (weekday is < 1 or > 7) throw CentreRequestException.Invalid("windows.weekday", $"weekday must be 1 (Monday) – 7 (Sunday), got {weekday}.");
            var from = Time(window.From, "windows.from");
            var until = Time(window.Until, "windows.until");
            if (until <= from) throw CentreRequestException.Invalid("windows.until", $"until {window.Until} must be after from {window.From}.");
            checkedWindows.Add(new ScheduleWindowData(weekday, from.ToString("HH:mm", CultureInfo.InvariantCulture), until.ToString("HH:mm", CultureInfo.InvariantCulture)));
        }
        return checkedWindows;
    }

    private Task<ChangeReceipt> AppendOneAsync<T>(string school, string kind, T data, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo,
        Func<Npgsql.NpgsqlConnection, Npgsql.NpgsqlTransaction, CancellationToken, Task>? check, CancellationToken cancellationToken) =>
        database.InTransactionAsync($"writing {kind} to", async (connection, transaction, ct) =>
        {
            await Roster.RequireSchoolAsync(connection, transaction, school, ct).ConfigureAwait(false);
            if (check is not null) await check(connection, transaction, ct).ConfigureAwait(false);
            long version = await ChangeFeed.AppendAsync(connection, transaction, school, kind, data, typeInfo, ct).ConfigureAwait(false);
            return new ChangeReceipt(kind, [new SchoolVersion(school, version)]);
        }, cancellationToken);

    private static TimeOnly Time(string? value, string field) =>
        TimeOnly.TryParseExact(value, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var time)
            ? time
            : throw CentreRequestException.Invalid(field, $"{field} '{Check.Show(value)}' is not a time: use HH:mm, e.g. 07:30.");
}
