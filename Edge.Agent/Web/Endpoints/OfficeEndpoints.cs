using Microsoft.AspNetCore.Builder;

namespace Kezekshi.Edge.Agent.Web.Endpoints;

/// <summary>The office: табель, free-meal report, roll-call.</summary>
internal static class OfficeEndpoints
{
    public static void Map(WebApplication app)
    {
        _ = app;
    }
}
