using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Kezekshi.Edge.Agent.Web.Pupils;
using Kezekshi.Edge.Agent.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Web.Endpoints;

/// <summary>A menu item as the till shows it.</summary>
public sealed record TillMenuItem(long Id, string Code, string Name, long Price, string PriceText, string Category, bool IsMeal, IReadOnlyList<string> Allergens, string? PhotoUrl);

/// <summary>The cashier's open shift.</summary>
public sealed record TillShiftView(long Id, string Till, DateTimeOffset OpenedAt, long OpeningFloat);

/// <summary>What the till page loads first.</summary>
public sealed record TillState(string Cashier, bool StaffLinked, TillShiftView? Shift, IReadOnlyList<TillMenuItem> Menu, TillFaceState Face);

/// <summary>A parent's ban as the till shows it.</summary>
public sealed record TillBan(long Id, string Kind, long? MenuItemId, string? Allergen);

/// <summary>The pupil in front of the cashier.</summary>
public sealed record TillPupil(long PupilId, string FullName, string ClassName, long Balance, string BalanceText, long? DailyLimit, long SpentToday,
    bool EntitledMealAvailable, IReadOnlyList<TillBan> Bans, string PhotoUrl);

/// <summary>Open a shift.</summary>
public sealed record OpenShiftRequest(long OpeningFloat);

/// <summary>Close a shift with the blind cash count.</summary>
public sealed record CloseShiftRequest(long CountedCash);

/// <summary>One line of a sale from the till.</summary>
public sealed record TillLine(long MenuItemId, int Quantity);

/// <summary>A sale from the till. The page makes <see cref="Key"/> once per sale, so a resent request never charges twice.</summary>
public sealed record TillChargeRequest(string? Key, long? PupilId, IReadOnlyList<TillLine>? Lines, string? Payment, string? OverrideReason);

/// <summary>A ban that blocked the sale.</summary>
public sealed record TillBanHit(string Kind, string ItemName, string? Allergen);

/// <summary>The outcome of a sale, with what the receipt prints.</summary>
public sealed record TillChargeResult(string Status, bool Succeeded, string Message, long? TransactionId, string? TransactionUid, long Total,
    long FromAccount, long FromSubsidy, long FromCash, long? BalanceAfter, string? BalanceAfterText, IReadOnlyList<TillBanHit> Bans, IReadOnlyList<string> Receipt);

/// <summary>Give back part of a sale (or void it) with a reason.</summary>
public sealed record TillRefundRequest(string? Key, long TransactionId, long? Amount, string? Reason);

/// <summary>The outcome of a refund or void.</summary>
public sealed record TillRefundResult(long TransactionId, long ToAccount, long ToCash, long ToSubsidy, long? BalanceAfter, string? BalanceAfterText, bool Replayed, string Message);

/// <summary>
/// The till's API over the canteen ledger. The cashier is the signed-in account's staff member; the till is named
/// after the account, so each cashier's PC holds its own shift.
/// </summary>
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

        app.MapGet("/api/till/state", State).RequireWebRole(WebRole.Cashier);
        app.MapPost("/api/till/shift/open", OpenShift).RequireWebRole(WebRole.Cashier);
        app.MapPost("/api/till/shift/close", CloseShift).RequireWebRole(WebRole.Cashier);
        app.MapGet("/api/till/pupil", FindPupil).RequireWebRole(WebRole.Cashier);
        app.MapPost("/api/till/charge", Charge).RequireWebRole(WebRole.Cashier);
        app.MapPost("/api/till/refund", Refund).RequireWebRole(WebRole.Cashier);
        app.MapPost("/api/till/void", Void).RequireWebRole(WebRole.Cashier);
    }

    private static string TillName(WebSession session) => "web:" + session.Name.ToLowerInvariant();

    private static IResult State(HttpContext http, CanteenLedger ledger, WebContext context, Biometrics.WebFace face)
    {
        var session = WebAuth.Session(http)!;
        var shift = ledger.GetOpenShift(TillName(session));
        var menu = ledger.GetMenu().Select(m => new TillMenuItem(m.Id, m.Code, m.Name, m.Price, CanteenLedger.Tenge(m.Price), m.Category, m.IsMeal, m.Allergens,
            MenuPhoto(context, m.PhotoPath))).ToList();
        return Results.Json(new TillState(session.Name, session.StaffId is not null,
            shift is null ? null : new TillShiftView(shift.Id, shift.Till, shift.OpenedAt, shift.OpeningFloat), menu, TillFaceEndpoints.StateFor(session, context, face)), WebJsonContext.Default.TillState);
    }

    /// <summary>A menu photo is shown only if the school put the file under wwwroot/assets/menu (none ship with the agent).</summary>
    private static string? MenuPhoto(WebContext context, string? photoPath)
    {
        if (photoPath is null) return null;
        string name = Path.GetFileName(photoPath);
        return File.Exists(Path.Combine(context.WebRoot, "assets", "menu", name)) ? "/assets/menu/" + name : null;
    }

    private static IResult OpenShift(OpenShiftRequest request, HttpContext http, CanteenLedger ledger, WebContext context)
    {
        var session = WebAuth.Session(http)!;
        if (session.StaffId is not { } staff) return NotLinked(session);
        return EndpointResults.Guarded(() =>
        {
            var shift = ledger.OpenShift(TillName(session), staff, request.OpeningFloat, context.Time.GetUtcNow());
            return Results.Json(new TillShiftView(shift.Id, shift.Till, shift.OpenedAt, shift.OpeningFloat), WebJsonContext.Default.TillShiftView);
        });
    }

    private static IResult CloseShift(CloseShiftRequest request, HttpContext http, CanteenLedger ledger, WebContext context)
    {
        var session = WebAuth.Session(http)!;
        if (ledger.GetOpenShift(TillName(session)) is not { } shift) return EndpointResults.Problem("There is no open shift at this till.", "shift-not-open");
        return EndpointResults.Guarded(() => Results.Json(ledger.CloseShift(shift.Id, request.CountedCash, context.Time.GetUtcNow()), WebJsonContext.Default.ZReport));
    }

    private static IResult FindPupil(string? card, WebContext context, CanteenLedger ledger)
    {
        var (pupil, problem) = new PupilDirectory(context.Database).FindByCard(card);
        if (problem is not null) return Results.Json(new ApiError(problem.Message, problem.Code), WebJsonContext.Default.ApiError, statusCode: StatusCodes.Status404NotFound);
        var atTill = ledger.GetPupilAtTill(pupil!.PupilId, context.Time.GetUtcNow());
        if (atTill is null) return EndpointResults.Problem("This pupil is not on the canteen's list (left the school?). Send them to the office.", "unknown-pupil", StatusCodes.Status404NotFound);
        return Results.Json(View(atTill), WebJsonContext.Default.TillPupil);
    }

    internal static TillPupil View(PupilAtTill p) => new(p.PupilId, p.FullName, p.ClassName, p.Balance, CanteenLedger.Tenge(p.Balance), p.DailyLimit, p.SpentToday,
        p.EntitledMealAvailable, p.Bans.Select(b => new TillBan(b.Id, b.Kind == BanKind.Item ? "item" : "allergen", b.MenuItemId, b.Allergen)).ToList(), $"/api/pupils/{p.PupilId}/photo");

    private static IResult Charge(TillChargeRequest request, HttpContext http, CanteenLedger ledger, WebContext context)
    {
        var session = WebAuth.Session(http)!;
        if (ledger.GetOpenShift(TillName(session)) is not { } shift) return EndpointResults.Problem("Open a shift first (the button at the top of the till).", "shift-not-open");
        var payment = request.Payment?.ToLowerInvariant() == "cash" ? PaymentMethod.Cash : PaymentMethod.Account;
        var lines = (request.Lines ?? []).Select(l => new ChargeLine(l.MenuItemId, l.Quantity)).ToList();
        return EndpointResults.Guarded(() =>
        {
            var result = ledger.Charge(new ChargeRequest(request.Key ?? "", shift.Id, request.PupilId, lines, context.Time.GetUtcNow(), payment,
                string.IsNullOrWhiteSpace(request.OverrideReason) ? null : request.OverrideReason.Trim()));
            if (result.Status == ChargeStatus.BlockedByBan)
                WebTillLog.BanBlocked(context.Loggers.CreateLogger("Kezekshi.Edge.Agent.Web.Till"), session.Name, request.PupilId ?? 0, string.Join(", ", result.Bans.Select(b => b.Allergen ?? b.ItemName)));
            var receipt = result.Succeeded ? Receipt(ledger, lines, result, session, shift) : [];
            var view = new TillChargeResult(Code(result.Status), result.Succeeded, result.Message, result.TransactionId, result.TransactionUid, result.Total,
                result.FromAccount, result.FromSubsidy, result.FromCash, result.BalanceAfter, result.BalanceAfter is { } b ? CanteenLedger.Tenge(b) : null,
                result.Bans.Select(h => new TillBanHit(h.Kind == BanKind.Item ? "item" : "allergen", h.ItemName, h.Allergen)).ToList(), receipt);
            // A refusal is an answer, not an error: 200 with Succeeded=false, so the page shows the message and the alert.
            return Results.Json(view, WebJsonContext.Default.TillChargeResult);
        });
    }

    private static IResult Refund(TillRefundRequest request, HttpContext http, CanteenLedger ledger, WebContext context) =>
        Correct(request, http, ledger, context, isVoid: false);

    private static IResult Void(TillRefundRequest request, HttpContext http, CanteenLedger ledger, WebContext context) =>
        Correct(request, http, ledger, context, isVoid: true);

    private static IResult Correct(TillRefundRequest request, HttpContext http, CanteenLedger ledger, WebContext context, bool isVoid)
    {
        var session = WebAuth.Session(http)!;
        if (session.StaffId is not { } staff) return NotLinked(session);
        if (ledger.GetOpenShift(TillName(session)) is not { } shift) return EndpointResults.Problem("Open a shift first (the button at the top of the till).", "shift-not-open");
        return EndpointResults.Guarded(() =>
        {
            var now = context.Time.GetUtcNow();
            var result = isVoid
                ? ledger.Void(new VoidRequest(request.Key ?? "", request.TransactionId, request.Reason ?? "", staff, shift.Id, now))
                : ledger.Refund(new RefundRequest(request.Key ?? "", request.TransactionId, request.Amount ?? 0, request.Reason ?? "", staff, shift.Id, now));
            string given = CanteenLedger.Tenge(result.ToAccount + result.ToCash);
            string message = (isVoid ? "Sale voided: " : "Refunded ") + given
                + (result.ToAccount > 0 ? " to the pupil's account" : "") + (result.ToCash > 0 ? " in cash from the drawer" : "") + ".";
            return Results.Json(new TillRefundResult(result.TransactionId, result.ToAccount, result.ToCash, result.ToSubsidy, result.BalanceAfter,
                result.BalanceAfter is { } b ? CanteenLedger.Tenge(b) : null, result.Replayed, message), WebJsonContext.Default.TillRefundResult);
        });
    }

    private static List<string> Receipt(CanteenLedger ledger, List<ChargeLine> lines, ChargeResult result, WebSession session, TillShift shift)
    {
        var receipt = new List<string> { $"Receipt {result.TransactionId}  ({shift.Till}, cashier {session.Name})" };
        foreach (var line in lines)
        {
            if (ledger.GetMenuItem(line.MenuItemId) is { } item)
                receipt.Add($"{line.Quantity} x {item.Name,-22} {CanteenLedger.Tenge(item.Price * line.Quantity),12}");
        }
        receipt.Add($"{"Total",-26} {CanteenLedger.Tenge(result.Total),12}");
        if (result.FromSubsidy > 0) receipt.Add($"{"Free meal (subsidy)",-26} {CanteenLedger.Tenge(result.FromSubsidy),12}");
        if (result.FromAccount > 0) receipt.Add($"{"From account",-26} {CanteenLedger.Tenge(result.FromAccount),12}");
        if (result.FromCash > 0) receipt.Add($"{"Cash",-26} {CanteenLedger.Tenge(result.FromCash),12}");
        if (result.BalanceAfter is { } balance) receipt.Add($"{"Balance now",-26} {CanteenLedger.Tenge(balance),12}");
        if (result.Status == ChargeStatus.Replayed) receipt.Add("(sent again: charged once)");
        return receipt;
    }

    private static string Code(ChargeStatus status) => status switch
    {
        ChargeStatus.Accepted => "accepted",
        ChargeStatus.Replayed => "replayed",
        ChargeStatus.InsufficientFunds => "insufficient-funds",
        ChargeStatus.DailyLimitReached => "daily-limit",
        ChargeStatus.OfflineCapReached => "offline-cap",
        ChargeStatus.BlockedByBan => "banned",
        ChargeStatus.IdempotencyConflict => "idempotency-conflict",
        ChargeStatus.ShiftNotOpen => "shift-not-open",
        ChargeStatus.UnknownItem => "unknown-item",
        _ => "unknown-pupil",
    };

    private static IResult NotLinked(WebSession session) =>
        EndpointResults.Problem($"The account '{session.Name}' is not linked to a staff member, so the ledger cannot record who sold. School IT: kezekshi-edge users link --name {session.Name} --staff-id <ID>.", "not-linked", StatusCodes.Status409Conflict);
}

/// <summary>Till log messages.</summary>
internal static partial class WebTillLog
{
    [LoggerMessage(EventId = 2520, Level = LogLevel.Warning, Message = "Till of {Cashier}: sale to pupil {PupilId} blocked by a parent's ban ({Banned}).")]
    public static partial void BanBlocked(ILogger logger, string cashier, long pupilId, string banned);
}
