using Kezekshi.Edge.Agent.Web.Pupils;
using Kezekshi.Edge.Agent.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Kezekshi.Edge.Agent.Web.Endpoints;

/// <summary>The till: pupil by card, menu, charge, refund.</summary>
internal static class TillEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/api/pupils/{id:long}/photo", (long id, WebContext context) =>
        {
            if (PupilPhoto.FindFile(context.PhotosDirectory, id) is { } file)
                return Results.File(file, file.EndsWith(".png", StringComparison.OrdinalIgnoreCase) ? "image/png" : "image/jpeg");
            var pupil = new PupilDirectory(context.Database).Find(id);
            return pupil is null ? Results.NotFound() : Results.Text(PupilPhoto.Placeholder(id, pupil.FullName), "image/svg+xml");
        }).RequireWebRole(WebRole.Cashier, WebRole.Librarian, WebRole.Office);
    }
}
