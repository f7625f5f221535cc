using Microsoft.AspNetCore.Builder;

namespace Kezekshi.Edge.Agent.Web.Endpoints;

/// <summary>The library desk: pupil by card, loans, returns, renewals.</summary>
internal static class LibraryEndpoints
{
    public static void Map(WebApplication app)
    {
        _ = app;
    }
}
