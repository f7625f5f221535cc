using System.Text.RegularExpressions;

namespace Kezekshi.Server.Sync.Domain;

/// <summary>What kind of refusal a <see cref="CentreRequestException"/> is; the HTTP API maps it to 400, 404, 403 or 409.</summary>
public enum RequestProblem
{
    /// <summary>A field is missing or out of range (400).</summary>
    Invalid,
    /// <summary>The thing asked for does not exist, or the caller may not know it exists (404).</summary>
    NotFound,
    /// <summary>The caller is known but may not do this (403).</summary>
    Forbidden,
    /// <summary>The request contradicts what is stored, e.g. the same top-up id with another amount (409).</summary>
    Conflict,
}

/// <summary>A request to the centre's domain was refused. <see cref="Exception.Message"/> tells the caller what to fix.</summary>
public sealed class CentreRequestException : Exception
{
    public CentreRequestException() { }
    public CentreRequestException(string message) : base(message) { }
    public CentreRequestException(string message, Exception inner) : base(message, inner) { }

    public CentreRequestException(RequestProblem problem, string? field, string message) : base(message)
    {
        Problem = problem;
        Field = field;
    }

    public RequestProblem Problem { get; }

    /// <summary>The request field at fault (camelCase, as in the JSON body), when one is.</summary>
    public string? Field { get; }

    internal static CentreRequestException Invalid(string field, string message) => new(RequestProblem.Invalid, field, message);
    internal static CentreRequestException NotFound(string message) => new(RequestProblem.NotFound, null, message);
    internal static CentreRequestException Conflict(string field, string message) => new(RequestProblem.Conflict, field, message);
}

/// <summary>Field checks shared by the domain services; each failure names the field and says what a valid value looks like.</summary>
internal static partial class Check
{
    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[a-z0-9-]{3,40}$", RegexOptions.CultureInvariant)]
    private static partial Regex SchoolPattern();

    [GeneratedRegex("^[a-z0-9-]{2,32}$", RegexOptions.CultureInvariant)]
    private static partial Regex RegionPattern();

    public static string Text(string? value, string field, int max = 200)
    {
        if (string.IsNullOrWhiteSpace(value)) throw CentreRequestException.Invalid(field, $"{field} is required.");
        value = value.Trim();
        if (value.Length > max) throw CentreRequestException.Invalid(field, $"{field} is longer than {max} characters.");
        return value;
    }

    public static string? OptionalText(string? value, string field, int max = 200) =>
        string.IsNullOrWhiteSpace(value) ? null : Text(value, field, max);

    public static T Required<T>(T? value, string field) where T : struct =>
        value ?? throw CentreRequestException.Invalid(field, $"{field} is required.");

    public static string Id(string? value, string field)
    {
        if (string.IsNullOrEmpty(value)) throw CentreRequestException.Invalid(field, $"{field} is required (letters, digits, '.', '_', '-'; at most 64).");
        if (!IdPattern().IsMatch(value)) throw CentreRequestException.Invalid(field, $"{field} '{Show(value)}' may hold only letters, digits, '.', '_' and '-', at most 64 of them.");
        return value;
    }

    public static string School(string? value, string field = "school")
    {
        if (string.IsNullOrEmpty(value) || !SchoolPattern().IsMatch(value))
            throw CentreRequestException.Invalid(field, $"{field} '{Show(value)}' is not a school ID: 3–40 lower-case letters, digits or '-', e.g. sch-0001.");
        return value;
    }

    public static string Region(string? value, string field = "region")
    {
        if (string.IsNullOrEmpty(value) || !RegionPattern().IsMatch(value))
            throw CentreRequestException.Invalid(field, $"{field} '{Show(value)}' is not a region ID: 2–32 lower-case letters, digits or '-', e.g. almaty.");
        return value;
    }

    public static long Positive(long? value, string field)
    {
        long v = Required(value, field);
        if (v <= 0) throw CentreRequestException.Invalid(field, $"{field} must be greater than 0 (got {v}).");
        return v;
    }

    public static string Show(string? value) => value is null ? "" : value.Length <= 64 ? value : value[..64] + "…";
}
