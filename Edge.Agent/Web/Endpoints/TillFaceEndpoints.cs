using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Kezekshi.Edge.Agent.Web.Biometrics;
using Kezekshi.Edge.Agent.Web.Security;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Imaging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Web.Endpoints;

/// <summary>Whether the till shows the Face button: shown at all (biometrics on), usable, and why not.</summary>
public sealed record TillFaceState(bool Shown, bool Available, string? Problem);

/// <summary>What the till camera saw: a pupil to confirm (with a one-use token), or "use the card" and why.</summary>
/// <param name="Status">recognised, not-recognised, camera-timeout or camera-failed.</param>
public sealed record TillFaceResult(string Status, bool Recognised, string Message, string? Token, TillPupil? Pupil);

/// <summary>The cashier confirms the recognised pupil is the child in front of them.</summary>
public sealed record TillFaceConfirmRequest(string? Token);

/// <summary>
/// Face payment at the till (issue 5 §1): only for the canteen-payment purpose, only with the cashier's
/// confirmation. The server takes the frame from the till's own camera (the browser never sends a face), identifies
/// it for <see cref="BiometricPurpose.CanteenPayment"/> — the index only sees pupils whose parent signed that form —
/// and shows the pupil's name and photo. Nothing is charged here: the cashier confirms, then charges as after a card.
/// </summary>
internal static class TillFaceEndpoints
{
    public const string NotRecognised = "Not recognised — use the card.";

    public static void Map(WebApplication app)
    {
        app.MapPost("/api/till/face", IdentifyAsync).RequireWebRole(WebRole.Cashier);
        app.MapPost("/api/till/face/confirm", Confirm).RequireWebRole(WebRole.Cashier);
    }

    internal static TillFaceState StateFor(WebSession session, WebContext context, WebFace face)
    {
        if (face.Recognition is null) return new TillFaceState(false, false, context.BiometricsProblem ?? WebFace.OffMessage);
        if (context.Options.Till.For(session.Name) is null)
            return new TillFaceState(true, false, $"This till has no camera: school IT sets Web:Till:Camera:Url (or Web:Till:Cameras:{session.Name}:Url). Use the card.");
        if (!face.TryGetIdentifier(out _, out string problem)) return new TillFaceState(true, false, problem);
        return new TillFaceState(true, true, null);
    }

    private static async Task<IResult> IdentifyAsync(HttpContext http, WebContext context, WebFace face, CanteenLedger ledger)
    {
        var session = WebAuth.Session(http)!;
        var state = StateFor(session, context, face);
        if (!state.Available) return EndpointResults.Problem(state.Problem!, state.Shown ? "face-unavailable" : "face-off", StatusCodes.Status409Conflict);
        face.TryGetIdentifier(out var identifier, out _);
        var logger = context.Loggers.CreateLogger("Kezekshi.Edge.Agent.Web.Till");
        RawImage frame;
        try
        {
            frame = await CameraCapture.TakeFrameAsync(context.Options.Till.For(session.Name)!, http.RequestAborted).ConfigureAwait(false);
        }
        catch (CameraTimeoutException e)
        {
            WebLog.TillCameraFailed(logger, session.Name, e.Message);
            return Json(new TillFaceResult("camera-timeout", false, e.Message, null, null));
        }
        catch (ImageDecodeException e)
        {
            WebLog.TillCameraFailed(logger, session.Name, e.Message);
            return Json(new TillFaceResult("camera-failed", false, "The till camera gave no picture — use the card. " + e.Message, null, null));
        }

        var identification = await face.ExclusiveAsync(() => identifier.Identify(frame, BiometricPurpose.CanteenPayment), http.RequestAborted).ConfigureAwait(false);
        // Accepted only: a look-alike (second factor required) or a stranger both go to the card, and the cashier is
        // not told whom the face resembled — that would be a biometric disclosure without a decision.
        if (!identification.IsAccepted || identification.Decision!.PupilId is not { } pupilId)
        {
            WebLog.FaceNotRecognised(logger, session.Name, identification.Reason);
            return Json(new TillFaceResult("not-recognised", false, NotRecognised, null, null));
        }
        var atTill = ledger.GetPupilAtTill(pupilId, context.Time.GetUtcNow());
        if (atTill is null)
        {
            WebLog.FaceNotRecognised(logger, session.Name, $"pupil {pupilId} is not on the canteen's list");
            return Json(new TillFaceResult("not-recognised", false, NotRecognised, null, null));
        }
        string token = face.Remember(identification.Decision, pupilId, session.Name);
        return Json(new TillFaceResult("recognised", true, $"Is this {atTill.FullName}? Check the face against the photo, then confirm.", token, TillEndpoints.View(atTill)));
    }

    private static IResult Confirm(TillFaceConfirmRequest request, HttpContext http, WebContext context, WebFace face, CanteenLedger ledger)
    {
        var session = WebAuth.Session(http)!;
        if (face.Take(request.Token, session.Name) is not { } match)
            return EndpointResults.Problem("This face match has expired or was already used. Press Face again, or use the card.", "face-expired", StatusCodes.Status409Conflict);
        if (!face.TryGetIdentifier(out var identifier, out string problem))
            return EndpointResults.Problem(problem, "face-unavailable", StatusCodes.Status409Conflict);
        var atTill = ledger.GetPupilAtTill(match.PupilId, context.Time.GetUtcNow());
        if (atTill is null) return EndpointResults.Problem("This pupil is not on the canteen's list (left the school?). Send them to the office.", "unknown-pupil", StatusCodes.Status404NotFound);
        // Audited only now, when the match is acted on: a face the cashier rejected was not used for payment.
        identifier.RecordUse(match.Decision, BiometricPurpose.CanteenPayment, "till:" + session.Name.ToLowerInvariant());
        WebLog.FaceConfirmed(context.Loggers.CreateLogger("Kezekshi.Edge.Agent.Web.Till"), session.Name, match.PupilId);
        return Results.Json(TillEndpoints.View(atTill), WebJsonContext.Default.TillPupil);
    }

    private static IResult Json(TillFaceResult result) => Results.Json(result, WebJsonContext.Default.TillFaceResult);
}
