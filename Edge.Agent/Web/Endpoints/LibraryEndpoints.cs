using Kezekshi.Edge.Agent.Ledgers;
using Kezekshi.Edge.Agent.Ledgers.Library;
using Kezekshi.Edge.Agent.Web.Pupils;
using Kezekshi.Edge.Agent.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Kezekshi.Edge.Agent.Web.Endpoints;

/// <summary>A pupil at the library desk with the books they hold.</summary>
public sealed record DeskPupil(long PupilId, string FullName, string ClassName, string PhotoUrl, IReadOnlyList<DeskLoan> Loans);

/// <summary>A book on loan as the desk shows it.</summary>
public sealed record DeskLoan(long LoanId, string Barcode, string Title, DateOnly DueOn, int Renewals, bool Overdue);

/// <summary>Scan a book: lend (with the pupil), return, renew or mark lost.</summary>
public sealed record DeskBookRequest(string? Barcode, long? PupilId);

/// <summary>What happened to the book.</summary>
public sealed record DeskBookResult(string Message, DeskLoan Loan);

/// <summary>The library desk over the library ledger: pupil by card, then book barcodes.</summary>
internal static class LibraryEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/api/library/pupil", (string? card, WebContext context, LibraryDesk desk) =>
        {
            var (pupil, problem) = new PupilDirectory(context.Database).FindByCard(card);
            if (problem is not null) return EndpointResults.Problem(problem.Message, problem.Code, StatusCodes.Status404NotFound);
            return Results.Json(Pupil(pupil!, desk, context), WebJsonContext.Default.DeskPupil);
        }).RequireWebRole(WebRole.Librarian);
        app.MapPost("/api/library/lend", (DeskBookRequest request, HttpContext http, WebContext context, LibraryDesk desk) =>
        {
            if (request.PupilId is not { } pupil) return EndpointResults.Problem("Scan the pupil's card first, then the book.", "no-pupil");
            var staff = WebAuth.Session(http)!.StaffId;
            return EndpointResults.Guarded(() => Book(desk.Lend(request.Barcode ?? "", pupil, context.Time.GetUtcNow(), staff), "Lent", desk, context));
        }).RequireWebRole(WebRole.Librarian);
        app.MapPost("/api/library/return", (DeskBookRequest request, WebContext context, LibraryDesk desk) =>
            EndpointResults.Guarded(() => Book(desk.Return(request.Barcode ?? "", context.Time.GetUtcNow()), "Returned", desk, context))).RequireWebRole(WebRole.Librarian);
        app.MapPost("/api/library/renew", (DeskBookRequest request, WebContext context, LibraryDesk desk) =>
            EndpointResults.Guarded(() => Book(desk.Renew(request.Barcode ?? "", context.Time.GetUtcNow()), "Renewed", desk, context))).RequireWebRole(WebRole.Librarian);
        app.MapPost("/api/library/lost", (DeskBookRequest request, WebContext context, LibraryDesk desk) =>
            EndpointResults.Guarded(() => Book(desk.MarkLost(request.Barcode ?? "", context.Time.GetUtcNow()), "Marked lost", desk, context))).RequireWebRole(WebRole.Librarian);
        app.MapGet("/api/library/overdue", (WebContext context, LibraryDesk desk) =>
            Results.Json(desk.Overdue(desk.Calendar.DayOf(context.Time.GetUtcNow())).ToList(), WebJsonContext.Default.ListOverdueLoan)).RequireWebRole(WebRole.Librarian);
    }

    private static DeskPupil Pupil(PupilCard pupil, LibraryDesk desk, WebContext context)
    {
        var today = desk.Calendar.DayOf(context.Time.GetUtcNow());
        var loans = desk.LoansOf(pupil.PupilId).Where(l => l.ReturnedAt is null && l.LostAt is null).Select(l => View(l, today)).ToList();
        return new DeskPupil(pupil.PupilId, pupil.FullName, pupil.ClassName, pupil.PhotoUrl, loans);
    }

    private static DeskLoan View(Loan loan, DateOnly today) => new(loan.Id, loan.Barcode, loan.Title, loan.DueOn, loan.Renewals, loan.DueOn < today && loan.ReturnedAt is null);

    private static IResult Book(Loan loan, string what, LibraryDesk desk, WebContext context)
    {
        var view = View(loan, desk.Calendar.DayOf(context.Time.GetUtcNow()));
        string message = what switch
        {
            "Lent" or "Renewed" => $"{what} \"{loan.Title}\": due {loan.DueOn:dd.MM.yyyy}.",
            _ => $"{what} \"{loan.Title}\".",
        };
        return Results.Json(new DeskBookResult(message, view), WebJsonContext.Default.DeskBookResult);
    }
}
