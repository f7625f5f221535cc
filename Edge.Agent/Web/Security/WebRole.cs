namespace Kezekshi.Edge.Agent.Web.Security;

/// <summary>What a staff account may do in the web UI. Checked on the server for every page and API call.</summary>
public enum WebRole
{
    /// <summary>The canteen till.</summary>
    Cashier,

    /// <summary>The library desk.</summary>
    Librarian,

    /// <summary>The school office: табель, reports, roll-call.</summary>
    Office,

    /// <summary>School IT: the console with devices, the gate log, latency and sync.</summary>
    ItAdmin,
}

/// <summary>The role names as stored, typed on the command line and shown.</summary>
public static class WebRoles
{
    public static readonly IReadOnlyList<string> Names = ["cashier", "librarian", "office", "it-admin"];

    public static string Format(WebRole role) => role switch
    {
        WebRole.Cashier => "cashier",
        WebRole.Librarian => "librarian",
        WebRole.Office => "office",
        _ => "it-admin",
    };

    public static bool TryParse(string? value, out WebRole role)
    {
        switch (value?.Trim().ToLowerInvariant())
        {
            case "cashier": role = WebRole.Cashier; return true;
            case "librarian": role = WebRole.Librarian; return true;
            case "office": role = WebRole.Office; return true;
            case "it-admin" or "itadmin" or "it": role = WebRole.ItAdmin; return true;
            default: role = default; return false;
        }
    }
}
