using System.Globalization;
using Kezekshi.Edge.Agent.Ledgers;
using Kezekshi.Edge.Agent.Ledgers.Tableau;
using Kezekshi.Edge.Agent.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Kezekshi.Edge.Agent.Web.Endpoints;

/// <summary>A class for the office's pickers.</summary>
public sealed record OfficeClass(long Id, string Name);

/// <summary>A tick or untick on the roll-call.</summary>
public sealed record RollCallTick(long SessionId, string? HolderKind, long HolderId, bool Accounted);

/// <summary>The office: табель per class (and staff) and month, the free-meal report, "entitled but not eaten", the evacuation roll-call.</summary>
internal static class OfficeEndpoints
{
    private static readonly WebRole[] s_office = [WebRole.Office];
    private static readonly WebRole[] s_rollCall = [WebRole.Office, WebRole.ItAdmin];

    public static void Map(WebApplication app)
    {
        app.MapGet("/api/office/classes", (WebContext context) => Results.Json(Classes(context), WebJsonContext.Default.ListOfficeClass)).RequireWebRole(s_office);
        app.MapGet("/api/office/register", Register).RequireWebRole(s_office);
        app.MapGet("/api/office/free-meals", FreeMeals).RequireWebRole(s_office);
        app.MapGet("/api/office/not-eaten", (string? cutoff, WebContext context) =>
        {
            var calendar = SchoolCalendar.Load(context.Database);
            var at = TimeOnly.TryParse(cutoff, CultureInfo.InvariantCulture, out var time) ? time : new TimeOnly(13, 0);
            var list = new MealWatch(context.Database, calendar).EntitledButNotEaten(calendar.DayOf(context.Time.GetUtcNow()), at);
            return Results.Json(list.ToList(), WebJsonContext.Default.ListUneatenMeal);
        }).RequireWebRole(s_office);

        app.MapGet("/api/rollcall", (WebContext context) =>
            RollCallOf(context).Current() is { } sheet ? Results.Json(sheet, WebJsonContext.Default.RollCallSheet) : Results.NoContent()).RequireWebRole(s_rollCall);
        app.MapPost("/api/rollcall/start", (HttpContext http, WebContext context) =>
            EndpointResults.Guarded(() => Results.Json(RollCallOf(context).Start(WebAuth.Session(http)!.Name, context.Time.GetUtcNow()), WebJsonContext.Default.RollCallSheet))).RequireWebRole(s_rollCall);
        app.MapPost("/api/rollcall/tick", (RollCallTick tick, HttpContext http, WebContext context) => EndpointResults.Guarded(() =>
        {
            var rollCall = RollCallOf(context);
            if (tick.Accounted) rollCall.Tick(tick.SessionId, tick.HolderKind ?? "", tick.HolderId, WebAuth.Session(http)!.Name, context.Time.GetUtcNow());
            else rollCall.Untick(tick.SessionId, tick.HolderKind ?? "", tick.HolderId);
            return Results.NoContent();
        })).RequireWebRole(s_rollCall);
        app.MapPost("/api/rollcall/{id:long}/end", (long id, WebContext context) => EndpointResults.Guarded(() =>
        {
            RollCallOf(context).End(id, context.Time.GetUtcNow());
            return Results.NoContent();
        })).RequireWebRole(s_rollCall);
        app.MapGet("/api/rollcall/{id:long}/print", (long id, WebContext context) =>
            EndpointResults.Guarded(() => Results.Content(TableauRender.RollCallHtml(RollCallOf(context).Sheet(id)), "text/html; charset=utf-8"))).RequireWebRole(s_rollCall);
    }

    private static RollCall RollCallOf(WebContext context) => new(context.Database, SchoolCalendar.Load(context.Database));

    private static IResult Register(string? group, string? month, string? format, WebContext context) => EndpointResults.Guarded(() =>
    {
        var (year, m) = Month(month, context);
        var calendar = SchoolCalendar.Load(context.Database);
        var builder = new AttendanceRegisterBuilder(context.Database, calendar);
        var today = calendar.DayOf(context.Time.GetUtcNow());
        AttendanceRegister register = group == "staff" ? builder.ForStaff(year, m, today)
            : long.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out long classId) ? builder.ForClass(classId, year, m, today)
            : throw new ArgumentException("Choose a class (or staff) for the register.");
        string name = $"tabel-{Safe(register.Group)}-{year}-{m:00}";
        return format == "csv"
            ? Results.File(TableauRender.CsvBytes(TableauRender.RegisterCsv(register)), "text/csv; charset=utf-8", name + ".csv")
            : Results.Content(TableauRender.RegisterHtml(register), "text/html; charset=utf-8");
    });

    private static IResult FreeMeals(string? month, string? format, WebContext context) => EndpointResults.Guarded(() =>
    {
        var (year, m) = Month(month, context);
        var report = new FreeMealReportBuilder(context.Database).Build(year, m);
        return format == "csv"
            ? Results.File(TableauRender.CsvBytes(TableauRender.FreeMealCsv(report)), "text/csv; charset=utf-8", $"free-meals-{year}-{m:00}.csv")
            : Results.Content(TableauRender.FreeMealHtml(report), "text/html; charset=utf-8");
    });

    private static (int Year, int Month) Month(string? value, WebContext context)
    {
        if (value is null) { var today = SchoolCalendar.Load(context.Database).DayOf(context.Time.GetUtcNow()); return (today.Year, today.Month); }
        if (DateOnly.TryParseExact(value + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var first)) return (first.Year, first.Month);
        throw new ArgumentException($"'{value}' is not a month; use the form 2026-11.");
    }

    private static string Safe(string text) => string.Concat(text.Select(c => char.IsLetterOrDigit(c) || c == '-' ? c : '_'));

    private static List<OfficeClass> Classes(WebContext context)
    {
        using var connection = context.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, name FROM classes ORDER BY grade, name";
        using var reader = command.ExecuteReader();
        var list = new List<OfficeClass>();
        while (reader.Read()) list.Add(new OfficeClass(reader.GetInt64(0), reader.GetString(1)));
        return list;
    }
}
