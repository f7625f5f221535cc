using System.Globalization;
using System.Net;
using System.Text;
using Kezekshi.Edge.Agent.Ledgers.Canteen;

namespace Kezekshi.Edge.Agent.Ledgers.Tableau;

/// <summary>
/// Renders the office's reports as CSV (RFC 4180, opened by Excel and LibreOffice) and as self-contained printable HTML
/// (inline CSS with print rules, no scripts, no external files). Pure functions of the report records.
/// </summary>
public static class TableauRender
{
    private const string Style = """
        body{font-family:"DejaVu Sans",Arial,sans-serif;font-size:11px;margin:12px;color:#000}
        h1{font-size:16px;margin:0 0 4px} p.meta{margin:0 0 8px;color:#333}
        table{border-collapse:collapse;width:100%} th,td{border:1px solid #444;padding:2px 3px;text-align:center}
        td.name,th.name{text-align:left;white-space:nowrap} td.num{text-align:right}
        .W,.H{background:#ddd} .A{background:#f6c6c6;font-weight:bold} .L{background:#fbe7a6} .P{background:#fff}
        tfoot td{font-weight:bold} .legend{margin-top:8px} .tick{font-size:18px;width:28px}
        @page{size:A4 landscape;margin:10mm}
        @media print{body{margin:0} tr{page-break-inside:avoid} thead{display:table-header-group} .noprint{display:none}}
        """;

    /// <summary>The register's one-letter codes: P present, L late, A absent, W weekend, H holiday, blank for days to come.</summary>
    public static string Code(AttendanceMark mark, RegisterDay day) => mark switch
    {
        AttendanceMark.Present => "P",
        AttendanceMark.Late => "L",
        AttendanceMark.Absent => "A",
        AttendanceMark.NoSchool => day.Kind == RegisterDayKind.Holiday ? "H" : "W",
        _ => "",
    };

    public static string RegisterCsv(AttendanceRegister register)
    {
        ArgumentNullException.ThrowIfNull(register);
        var csv = new StringBuilder();
        Row(csv, [.. new[] { "No", "Name" }.Concat(register.Days.Select(d => d.Date.Day.ToString(CultureInfo.InvariantCulture))).Concat(["Present", "Late", "Absent"])]);
        int n = 0;
        foreach (var row in register.Rows)
        {
            Row(csv, [.. new[] { (++n).ToString(CultureInfo.InvariantCulture), row.Name }.Concat(row.Marks.Select((m, i) => Code(m, register.Days[i])))
                .Concat([Num(row.Present + row.Late), Num(row.Late), Num(row.Absent)])]);
        }
        return csv.ToString();
    }

    public static string RegisterHtml(AttendanceRegister register)
    {
        ArgumentNullException.ThrowIfNull(register);
        var html = Begin($"Attendance register {register.Year}-{register.Month:D2} — {register.Group}");
        html.Append(CultureInfo.InvariantCulture, $"<h1>Attendance register (табель): {E(register.Group)}, {Month(register.Year, register.Month)}</h1>");
        html.Append(CultureInfo.InvariantCulture, $"<p class=\"meta\">{E(register.SchoolName)} · made on {register.MadeOn:yyyy-MM-dd} · from gate passages and the bell schedule</p>");
        html.Append("<table><thead><tr><th>No</th><th class=\"name\">Name</th>");
        foreach (var day in register.Days)
            html.Append(CultureInfo.InvariantCulture, $"<th class=\"{(day.Kind == RegisterDayKind.SchoolDay ? "" : day.Kind == RegisterDayKind.Holiday ? "H" : "W")}\" title=\"{E(day.HolidayName ?? day.Date.DayOfWeek.ToString())}\">{day.Date.Day}</th>");
        html.Append("<th>Present</th><th>Late</th><th>Absent</th></tr></thead><tbody>");
        int n = 0;
        foreach (var row in register.Rows)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{++n}</td><td class=\"name\">{E(row.Name)}</td>");
            for (int i = 0; i < row.Marks.Count; i++)
            {
                string code = Code(row.Marks[i], register.Days[i]);
                html.Append(CultureInfo.InvariantCulture, $"<td class=\"{code}\">{code}</td>");
            }
            html.Append(CultureInfo.InvariantCulture, $"<td class=\"num\">{row.Present + row.Late}</td><td class=\"num\">{row.Late}</td><td class=\"num\">{row.Absent}</td></tr>");
        }
        html.Append("</tbody></table>");
        html.Append("<p class=\"legend\">P present · L late (came after the first lesson began) · A absent · W weekend · H holiday · blank: days to come. Present counts late arrivals too.</p>");
        foreach (var holiday in register.Days.Where(d => d.Kind == RegisterDayKind.Holiday))
            html.Append(CultureInfo.InvariantCulture, $"<p class=\"legend\">{holiday.Date:yyyy-MM-dd}: {E(holiday.HolidayName ?? "")}</p>");
        return End(html);
    }

    public static string FreeMealCsv(FreeMealReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var csv = new StringBuilder();
        Row(csv, ["No", "Name", "Class", "Programme", "Meals", "Cost (tenge)"]);
        int n = 0;
        foreach (var line in report.Lines)
            Row(csv, [Num(++n), line.Name, line.ClassName, line.Program, Num(line.Meals), Money(line.Cost)]);
        Row(csv, ["", "Total", "", "", Num(report.TotalMeals), Money(report.TotalCost)]);
        return csv.ToString();
    }

    public static string FreeMealHtml(FreeMealReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var html = Begin($"Free meals {report.Year}-{report.Month:D2}");
        html.Append(CultureInfo.InvariantCulture, $"<h1>Free and subsidised meals, {Month(report.Year, report.Month)}</h1><p class=\"meta\">{E(report.SchoolName)}</p>");
        html.Append("<table><thead><tr><th>No</th><th class=\"name\">Name</th><th>Class</th><th>Programme</th><th>Meals</th><th>Cost, ₸</th></tr></thead><tbody>");
        int n = 0;
        foreach (var line in report.Lines)
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{++n}</td><td class=\"name\">{E(line.Name)}</td><td>{E(line.ClassName)}</td><td>{E(line.Program)}</td><td class=\"num\">{line.Meals}</td><td class=\"num\">{Money(line.Cost)}</td></tr>");
        html.Append(CultureInfo.InvariantCulture, $"</tbody><tfoot><tr><td></td><td class=\"name\">Total</td><td></td><td></td><td class=\"num\">{report.TotalMeals}</td><td class=\"num\">{Money(report.TotalCost)}</td></tr></tfoot></table>");
        html.Append("<p class=\"legend\">Signature of the director: ____________________ &nbsp; Canteen: ____________________</p>");
        return End(html);
    }

    /// <summary>The roll-call list for printing: grouped, with an empty box to tick on paper.</summary>
    public static string RollCallHtml(RollCallSheet sheet)
    {
        ArgumentNullException.ThrowIfNull(sheet);
        var html = Begin($"Evacuation roll-call {sheet.StartedAt:yyyy-MM-dd HH:mm}");
        html.Append(CultureInfo.InvariantCulture, $"<h1>EVACUATION ROLL-CALL — {sheet.Missing} not yet accounted for of {sheet.People.Count}</h1>");
        html.Append(CultureInfo.InvariantCulture, $"<p class=\"meta\">Started {sheet.StartedAt:yyyy-MM-dd HH:mm:ss} by {E(sheet.StartedBy)} · list of everyone inside at that moment (gate passages and visitor passes)</p>");
        foreach (var group in sheet.People.GroupBy(p => p.Group))
        {
            html.Append(CultureInfo.InvariantCulture, $"<h1>{E(group.Key)} ({group.Count(p => p.AccountedAt is null)} missing)</h1>");
            html.Append("<table><thead><tr><th class=\"tick\">✓</th><th class=\"name\">Name</th><th>Last gate</th><th>Accounted by</th></tr></thead><tbody>");
            foreach (var person in group)
            {
                html.Append(CultureInfo.InvariantCulture, $"<tr><td class=\"tick\">{(person.AccountedAt is null ? "☐" : "☑")}</td><td class=\"name\">{E(person.Name)}</td><td>{E(person.LastGate ?? "")}</td><td>{E(person.AccountedBy ?? "")}</td></tr>");
            }
            html.Append("</tbody></table>");
        }
        return End(html);
    }

    /// <summary>UTF-8 with a byte-order mark, so Excel shows Cyrillic and Kazakh names correctly.</summary>
    public static byte[] CsvBytes(string csv) => [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(csv)];

    private static StringBuilder Begin(string title) =>
        new StringBuilder().Append(CultureInfo.InvariantCulture, $"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{E(title)}</title><style>{Style}</style></head><body>");

    private static string End(StringBuilder html) => html.Append("</body></html>").ToString();

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Money(long tiyn) => CanteenLedger.Tenge(tiyn).Replace(" ₸", "", StringComparison.Ordinal);

    private static string Month(int year, int month) => new DateOnly(year, month, 1).ToString("MMMM yyyy", CultureInfo.InvariantCulture);

    private static void Row(StringBuilder csv, IReadOnlyList<string> cells)
    {
        for (int i = 0; i < cells.Count; i++)
        {
            if (i > 0) csv.Append(',');
            string cell = cells[i];
            // Quote what needs it; prefix formula starters so a name can never run as a spreadsheet formula.
            if (cell.Length > 0 && cell[0] is '=' or '+' or '-' or '@' && !decimal.TryParse(cell, NumberStyles.Number, CultureInfo.InvariantCulture, out _)) cell = "'" + cell;
            csv.Append(cell.AsSpan().IndexOfAny("\",\r\n") >= 0 ? "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : cell);
        }
        csv.Append("\r\n");
    }
}
