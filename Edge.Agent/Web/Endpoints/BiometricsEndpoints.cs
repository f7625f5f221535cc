using System.Collections.Concurrent;
using System.Globalization;
using Kezekshi.Edge.Agent.Recognition;
using Kezekshi.Edge.Agent.Web.Biometrics;
using Kezekshi.Edge.Agent.Web.Pupils;
using Kezekshi.Edge.Agent.Web.Security;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Enrolment;
using Kezekshi.Edge.Biometrics.Imaging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;

namespace Kezekshi.Edge.Agent.Web.Endpoints;

/// <summary>What the consents and enrolment page shows first.</summary>
public sealed record BioStatus(bool Enabled, bool FaceAvailable, string? Problem, bool KeepRawImages, bool EnrolmentCamera, int Templates, float MinQuality, IReadOnlyList<string> Purposes);

/// <summary>One consent form as recorded.</summary>
public sealed record BioConsentView(long Id, string GuardianId, string GuardianName, DateTimeOffset GivenAt, IReadOnlyList<string> Purposes, DateTimeOffset ExpiresAt,
    string Operator, string DocumentSha256, bool NoCrossBorder, DateTimeOffset RecordedAt, DateTimeOffset? WithdrawnAt, bool Active);

/// <summary>One objection as recorded.</summary>
public sealed record BioObjectionView(long Id, bool ByPupil, string? GuardianId, DateTimeOffset RecordedAt, string Operator, string Note, DateTimeOffset? LiftedAt);

/// <summary>A deletion receipt: proof that templates were deleted, without keeping them.</summary>
public sealed record BioReceiptView(long Id, string What, string Reason, DateTimeOffset DeletedAt, string DeletedBy, string Sha256);

/// <summary>A pupil's biometric page: effective purposes, forms, objections, template count, deletion receipts.</summary>
public sealed record BioPupilView(long PupilId, string FullName, string ClassName, IReadOnlyList<string> EffectivePurposes, int Templates,
    IReadOnlyList<BioConsentView> Consents, IReadOnlyList<BioObjectionView> Objections, IReadOnlyList<BioReceiptView> Receipts);

/// <summary>A pupil found by the picker.</summary>
public sealed record BioPupilMatch(long PupilId, string FullName, string ClassName);

/// <summary>A paper consent form typed in: the purposes ticked on it, the guardian, dates and the scan's SHA-256.</summary>
public sealed record BioConsentRequest(string? GuardianId, string? GuardianName, DateOnly? GivenOn, string? DocumentSha256, IReadOnlyList<string>? Purposes, DateOnly? ExpiresOn, bool NoCrossBorder);

/// <summary>An objection by a guardian (id) or by the pupil.</summary>
public sealed record BioObjectionRequest(bool ByPupil, string? GuardianId, string? Note);

/// <summary>Withdraw purposes (all when none are named) of one guardian's forms, or of every guardian's when no guardian is named.</summary>
public sealed record BioRevokeRequest(string? GuardianId, IReadOnlyList<string>? Purposes, string? Reason);

/// <summary>A free-text note or reason.</summary>
public sealed record BioNoteRequest(string? Note);

/// <summary>An uploaded image: its file name and its bytes in base64 (JPEG, PNG, BMP, PGM…).</summary>
public sealed record BioImage(string? Name, string? Data);

/// <summary>Images to check or enrol: uploads, and/or frames captured earlier from the enrolment camera.</summary>
public sealed record BioImagesRequest(IReadOnlyList<BioImage>? Images, IReadOnlyList<string>? Captures);

/// <summary>Quality feedback for one image.</summary>
public sealed record BioFeedback(string Source, float Quality, bool Accepted, string? Advice);

/// <summary>Feedback for every image, nothing stored.</summary>
public sealed record BioCheckResult(IReadOnlyList<BioFeedback> Images);

/// <summary>A frame from the enrolment camera, held on the server for the enrol call, with its feedback.</summary>
public sealed record BioCaptureResult(string Capture, BioFeedback Feedback);

/// <summary>What an enrolment stored.</summary>
public sealed record BioEnrolResult(long PupilId, int Stored, int Templates, IReadOnlyList<BioFeedback> Images, int LookAlikes, string Message);

/// <summary>How many templates a pupil has.</summary>
public sealed record BioTemplatesView(long PupilId, int Templates);

/// <summary>The receipt of a template deletion.</summary>
public sealed record BioDeleteResult(long PupilId, long ReceiptId, string What, string Sha256, string Message);

/// <summary>A larger body limit for endpoints that take photos (the UI's default is 1 MB).</summary>
internal sealed record BodySizeLimit(long? MaxRequestBodySize) : IRequestSizeLimitMetadata;

/// <summary>
/// Consents and enrolment in the IT console, and the same calls as a JSON API for scripts (issue 3 §6, §7). IT admin
/// only: these decide whose face may be matched and for what, and they delete biometric data. Every change goes
/// through <see cref="ConsentService"/> or the template store, which validate it and write the audit log.
/// </summary>
internal static class BiometricsEndpoints
{
    /// <summary>At most this many images per call; a class goes through the CLI's folder enrolment.</summary>
    public const int MaxImages = 12;

    private static readonly BodySizeLimit s_photoLimit = new(48L * 1024 * 1024);
    private static readonly ConcurrentDictionary<string, (RawImage Image, DateTimeOffset Expires)> s_captures = new(StringComparer.Ordinal);

    public static void Map(WebApplication app)
    {
        app.MapGet("/api/bio/status", Status).RequireWebRole(WebRole.ItAdmin);
        app.MapGet("/api/bio/pupils", Search).RequireWebRole(WebRole.ItAdmin);
        app.MapGet("/api/bio/pupils/{id:long}", Pupil).RequireWebRole(WebRole.ItAdmin);
        app.MapPost("/api/bio/pupils/{id:long}/consents", RecordConsent).RequireWebRole(WebRole.ItAdmin);
        app.MapPost("/api/bio/pupils/{id:long}/revoke", Revoke).RequireWebRole(WebRole.ItAdmin);
        app.MapPost("/api/bio/pupils/{id:long}/objections", RecordObjection).RequireWebRole(WebRole.ItAdmin);
        app.MapPost("/api/bio/pupils/{id:long}/objections/lift", LiftObjections).RequireWebRole(WebRole.ItAdmin);
        app.MapPost("/api/bio/enrolment/check", CheckAsync).RequireWebRole(WebRole.ItAdmin).WithMetadata(s_photoLimit);
        app.MapPost("/api/bio/enrolment/capture", CaptureAsync).RequireWebRole(WebRole.ItAdmin);
        app.MapGet("/api/bio/pupils/{id:long}/templates", Templates).RequireWebRole(WebRole.ItAdmin);
        app.MapPost("/api/bio/pupils/{id:long}/templates", EnrolAsync).RequireWebRole(WebRole.ItAdmin).WithMetadata(s_photoLimit);
        app.MapDelete("/api/bio/pupils/{id:long}/templates", DeleteTemplates).RequireWebRole(WebRole.ItAdmin);
    }

    private static IResult Off(WebContext context) =>
        EndpointResults.Problem(context.BiometricsProblem ?? WebFace.OffMessage, "biometrics-off", StatusCodes.Status409Conflict);

    private static IResult Status(WebContext context, WebFace face)
    {
        var module = face.Module;
        bool available = face.TryGetIdentifier(out _, out string problem);
        return Results.Json(new BioStatus(module is not null, available, available ? null : (context.BiometricsProblem ?? problem), module?.Options.KeepRawImages ?? false,
            context.Options.EnrolmentCamera is { Url.Length: > 0 }, module?.Store.Count() ?? 0, module?.Options.MinEnrolmentQuality ?? 0,
            PurposeNames.All.Select(p => p.Name).ToList()), WebJsonContext.Default.BioStatus);
    }

    private static IResult Search(string? q, WebContext context) =>
        Results.Json(new PupilDirectory(context.Database).Search(q).Select(p => new BioPupilMatch(p.PupilId, p.FullName, p.ClassName)).ToList(), WebJsonContext.Default.ListBioPupilMatch);

    private static IResult Pupil(long id, WebContext context, WebFace face)
    {
        if (face.Module is not { } module) return Off(context);
        if (new PupilDirectory(context.Database).Find(id) is not { } pupil) return UnknownPupil(id);
        return Results.Json(View(module, pupil, context.Time.GetUtcNow()), WebJsonContext.Default.BioPupilView);
    }

    private static BioPupilView View(BiometricsModule module, PupilCard pupil, DateTimeOffset now) => new(
        pupil.PupilId, pupil.FullName, pupil.ClassName, Names(module.Consents.EffectiveMask(pupil.PupilId)), module.Store.Count(pupil.PupilId),
        ConsentHistory.Consents(module, pupil.PupilId).Select(c => new BioConsentView(c.Id, c.Grant.GuardianId, c.Grant.GuardianName, c.Grant.GivenAt, Names(c.Grant.Purposes),
            c.Grant.ExpiresAt, c.Grant.Operator, c.Grant.DocumentSha256, c.Grant.NoCrossBorder, c.RecordedAt, c.WithdrawnAt, c.IsActiveAt(now))).ToList(),
        ConsentHistory.Objections(module, pupil.PupilId).Select(o => new BioObjectionView(o.Id, o.ByPupil, o.GuardianId, o.RecordedAt, o.Operator, o.Note, o.LiftedAt)).ToList(),
        module.Store.Receipts(pupil.PupilId).Select(r => new BioReceiptView(r.Id, r.What, r.Reason, r.DeletedAt, r.DeletedBy, r.Sha256)).ToList());

    private static List<string> Names(BiometricPurpose purposes) => PurposeNames.All.Where(p => (purposes & p.Purpose) != 0).Select(p => p.Name).ToList();

    private static IResult RecordConsent(long id, BioConsentRequest request, HttpContext http, WebContext context, WebFace face)
    {
        if (face.Module is not { } module) return Off(context);
        if (new PupilDirectory(context.Database).Find(id) is not { } pupil) return UnknownPupil(id);
        if (!TryParsePurposes(request.Purposes, out var purposes, out var bad)) return bad!;
        var today = DateOnly.FromDateTime(context.Time.GetUtcNow().UtcDateTime);
        var given = request.GivenOn ?? today;
        if (given > today) return EndpointResults.Problem($"The form is dated {given:yyyy-MM-dd}, in the future. Enter the date the guardian signed it.", "bad-request");
        if (request.ExpiresOn is not { } expires) return EndpointResults.Problem("Enter the date the consent expires, as written on the form (at most the end of the school year is usual).", "bad-request");
        var operatorName = WebAuth.Session(http)!.Name;
        return Consent(() =>
        {
            module.Consents.RecordGrant(new ConsentGrant(id, (request.GuardianId ?? "").Trim(), (request.GuardianName ?? "").Trim(), Midnight(given),
                (request.DocumentSha256 ?? "").Trim().ToLowerInvariant(), purposes, Midnight(expires), operatorName, request.NoCrossBorder));
            return Results.Json(View(module, pupil, context.Time.GetUtcNow()), WebJsonContext.Default.BioPupilView);
        });
    }

    private static IResult Revoke(long id, BioRevokeRequest request, HttpContext http, WebContext context, WebFace face)
    {
        if (face.Module is not { } module) return Off(context);
        if (new PupilDirectory(context.Database).Find(id) is not { } pupil) return UnknownPupil(id);
        var purposes = ConsentPolicy.AllowedPurposes;
        if (request.Purposes is { Count: > 0 } && !TryParsePurposes(request.Purposes, out purposes, out var bad)) return bad!;
        if (string.IsNullOrWhiteSpace(request.Reason)) return EndpointResults.Problem("Say why consent is withdrawn (e.g. 'letter from the mother, 2026-11-20').", "bad-request");
        string? guardian = string.IsNullOrWhiteSpace(request.GuardianId) ? null : request.GuardianId.Trim();
        var operatorName = WebAuth.Session(http)!.Name;
        return Consent(() =>
        {
            module.Consents.Revoke(new Revocation(id, guardian, operatorName, request.Reason.Trim(), purposes));
            return Results.Json(View(module, pupil, context.Time.GetUtcNow()), WebJsonContext.Default.BioPupilView);
        });
    }

    private static IResult RecordObjection(long id, BioObjectionRequest request, HttpContext http, WebContext context, WebFace face)
    {
        if (face.Module is not { } module) return Off(context);
        if (new PupilDirectory(context.Database).Find(id) is not { } pupil) return UnknownPupil(id);
        if (string.IsNullOrWhiteSpace(request.Note)) return EndpointResults.Problem("Write what the objection says or where it is filed (e.g. 'letter from the father, filed in the office').", "bad-request");
        var operatorName = WebAuth.Session(http)!.Name;
        return Consent(() =>
        {
            module.Consents.RecordObjection(new Objection(id, request.ByPupil, request.ByPupil ? null : request.GuardianId?.Trim(), operatorName, request.Note.Trim()));
            return Results.Json(View(module, pupil, context.Time.GetUtcNow()), WebJsonContext.Default.BioPupilView);
        });
    }

    private static IResult LiftObjections(long id, BioNoteRequest request, HttpContext http, WebContext context, WebFace face)
    {
        if (face.Module is not { } module) return Off(context);
        if (new PupilDirectory(context.Database).Find(id) is not { } pupil) return UnknownPupil(id);
        if (string.IsNullOrWhiteSpace(request.Note)) return EndpointResults.Problem("Write where the written withdrawal of the objection is filed.", "bad-request");
        var operatorName = WebAuth.Session(http)!.Name;
        return Consent(() =>
        {
            module.Consents.LiftObjections(id, operatorName, request.Note.Trim());
            return Results.Json(View(module, pupil, context.Time.GetUtcNow()), WebJsonContext.Default.BioPupilView);
        });
    }

    private static async Task<IResult> CheckAsync(BioImagesRequest request, WebContext context, WebFace face, HttpContext http)
    {
        if (!TryEnrolment(context, face, out var enrolment, out var problem)) return problem!;
        if (!TryDecode(request, out var images, out var bad)) return bad!;
        var feedback = await face.ExclusiveAsync(() => images.Select(i => enrolment!.Check(i.Image, i.Source)).ToList(), http.RequestAborted).ConfigureAwait(false);
        return Results.Json(new BioCheckResult(feedback.Select(Feedback).ToList()), WebJsonContext.Default.BioCheckResult);
    }

    private static async Task<IResult> CaptureAsync(WebContext context, WebFace face, HttpContext http)
    {
        if (!TryEnrolment(context, face, out var enrolment, out var problem)) return problem!;
        if (context.Options.EnrolmentCamera is not { Url.Length: > 0 } camera)
            return EndpointResults.Problem("No enrolment camera is configured: upload photos instead, or set Web:EnrolmentCamera:Url.", "no-camera", StatusCodes.Status409Conflict);
        RawImage frame;
        try
        {
            frame = await CameraCapture.TakeFrameAsync(camera, http.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is CameraTimeoutException or ImageDecodeException)
        {
            return EndpointResults.Problem(e.Message.Replace("Web:Till:Camera:Url", "Web:EnrolmentCamera:Url", StringComparison.Ordinal).Replace("Use the card; school IT:", "School IT:", StringComparison.Ordinal), "camera", StatusCodes.Status503ServiceUnavailable);
        }
        var now = context.Time.GetUtcNow();
        foreach (var (key, old) in s_captures)
            if (old.Expires < now) s_captures.TryRemove(key, out _);
        string token = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        // Held in memory only, for ten minutes, until the operator enrols or discards it: never written to disk here.
        s_captures[token] = (frame, now.AddMinutes(10));
        string source = "camera " + now.ToString("HH:mm:ss", CultureInfo.InvariantCulture);
        var feedback = await face.ExclusiveAsync(() => enrolment!.Check(frame, source), http.RequestAborted).ConfigureAwait(false);
        return Results.Json(new BioCaptureResult(token, Feedback(feedback)), WebJsonContext.Default.BioCaptureResult);
    }

    private static async Task<IResult> EnrolAsync(long id, BioImagesRequest request, HttpContext http, WebContext context, WebFace face)
    {
        if (!TryEnrolment(context, face, out var enrolment, out var problem)) return problem!;
        var module = face.Module!;
        if (new PupilDirectory(context.Database).Find(id) is null) return UnknownPupil(id);
        if (!TryDecode(request, out var images, out var bad)) return bad!;
        var operatorName = WebAuth.Session(http)!.Name;
        EnrolmentResult result;
        try
        {
            result = await face.ExclusiveAsync(() => enrolment!.Enrol(id, images.Select(i => i.Image).ToList(), operatorName, images.Select(i => i.Source).ToList()), http.RequestAborted).ConfigureAwait(false);
        }
        catch (ConsentException e)
        {
            return EndpointResults.Problem(e.Message, "no-consent", StatusCodes.Status409Conflict);
        }
        catch (BiometricsDisabledException e)
        {
            return EndpointResults.Problem(e.Message, "biometrics-off", StatusCodes.Status409Conflict);
        }
        foreach (var token in request.Captures ?? []) s_captures.TryRemove(token, out _);
        int total = module.Store.Count(id);
        string message = result.Enrolled
            ? $"{result.TemplateIds.Count} template(s) stored; the pupil now has {total}." + (result.LookAlikes.Count > 0 ? $" {result.LookAlikes.Count} look-alike pair(s) found: the face alone will not decide for them, a card is needed." : "")
            : "No image was good enough; nothing stored. Follow the advice next to each image and take new photos.";
        return Results.Json(new BioEnrolResult(id, result.TemplateIds.Count, total, result.Images.Select(Feedback).ToList(), result.LookAlikes.Count, message), WebJsonContext.Default.BioEnrolResult);
    }

    private static IResult Templates(long id, WebContext context, WebFace face)
    {
        if (face.Module is not { } module) return Off(context);
        if (new PupilDirectory(context.Database).Find(id) is null) return UnknownPupil(id);
        return Results.Json(new BioTemplatesView(id, module.Store.Count(id)), WebJsonContext.Default.BioTemplatesView);
    }

    private static IResult DeleteTemplates(long id, string? reason, HttpContext http, WebContext context, WebFace face)
    {
        if (face.Module is not { } module) return Off(context);
        if (new PupilDirectory(context.Database).Find(id) is null) return UnknownPupil(id);
        var receipt = TemplateDeletion.DeleteAll(module, id, WebAuth.Session(http)!.Name, string.IsNullOrWhiteSpace(reason) ? "deleted from the IT console" : reason.Trim());
        return Results.Json(new BioDeleteResult(id, receipt.Id, receipt.What, receipt.Sha256, $"Deleted {receipt.What}. Receipt {receipt.Id}, SHA-256 {receipt.Sha256}."), WebJsonContext.Default.BioDeleteResult);
    }

    private static bool TryEnrolment(WebContext context, WebFace face, out EnrolmentService? enrolment, out IResult? problem)
    {
        enrolment = null;
        problem = null;
        if (face.Recognition is not { } recognition)
        {
            problem = Off(context);
            return false;
        }
        if (!recognition.TryGetIdentifier(out _, out string why))
        {
            problem = EndpointResults.Problem(why, "face-unavailable", StatusCodes.Status409Conflict);
            return false;
        }
        enrolment = recognition.Enrolment();
        return true;
    }

    private static bool TryDecode(BioImagesRequest request, out List<(RawImage Image, string Source)> images, out IResult? problem)
    {
        images = [];
        problem = null;
        int count = (request.Images?.Count ?? 0) + (request.Captures?.Count ?? 0);
        if (count == 0)
        {
            problem = EndpointResults.Problem("No image was sent. Choose one or more photos (JPEG or PNG) of the pupil's face, or capture from the camera.", "no-image");
            return false;
        }
        if (count > MaxImages)
        {
            problem = EndpointResults.Problem($"{count} images in one go is too many (at most {MaxImages}). For a whole class use the batch enrolment from a folder (command line).", "too-many-images");
            return false;
        }
        var decoder = new FfmpegImageDecoder();
        int n = 0;
        foreach (var upload in request.Images ?? [])
        {
            string name = string.IsNullOrWhiteSpace(upload.Name) ? $"image {++n}" : Path.GetFileName(upload.Name);
            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(upload.Data ?? "");
            }
            catch (FormatException)
            {
                problem = EndpointResults.Problem($"{name} did not arrive as base64 data. Send the file's bytes base64-encoded in \"data\".", "bad-image");
                return false;
            }
            if (bytes.Length == 0)
            {
                problem = EndpointResults.Problem($"{name} is empty. Choose the photo again.", "bad-image");
                return false;
            }
            try
            {
                images.Add((decoder.Decode(bytes, name), name));
            }
            catch (ImageDecodeException e)
            {
                problem = EndpointResults.Problem(e.Message, "bad-image");
                return false;
            }
        }
        foreach (var token in request.Captures ?? [])
        {
            if (!s_captures.TryGetValue(token ?? "", out var capture))
            {
                problem = EndpointResults.Problem("A camera capture has expired (they are kept ten minutes, in memory only). Capture again.", "capture-expired");
                return false;
            }
            images.Add((capture.Image, "camera capture"));
        }
        return true;
    }

    private static bool TryParsePurposes(IReadOnlyList<string>? names, out BiometricPurpose purposes, out IResult? problem)
    {
        purposes = BiometricPurpose.None;
        problem = null;
        foreach (var name in names ?? [])
        {
            if (PurposeNames.Parse(name?.Trim().ToLowerInvariant()) is not { } purpose)
            {
                problem = EndpointResults.Problem($"'{name}' is not a purpose. Purposes are: {string.Join(", ", PurposeNames.All.Select(p => p.Name))}.", "bad-purpose");
                return false;
            }
            purposes |= purpose;
        }
        return true;
    }

    private static IResult Consent(Func<IResult> action)
    {
        try
        {
            return action();
        }
        catch (ConsentException e)
        {
            return EndpointResults.Problem(e.Message, "consent-refused", StatusCodes.Status409Conflict);
        }
    }

    private static BioFeedback Feedback(ImageFeedback f) => new(f.Source, f.Quality, f.Accepted, f.RejectedBecause);

    private static DateTimeOffset Midnight(DateOnly date) => new(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    private static IResult UnknownPupil(long id) =>
        EndpointResults.Problem($"There is no pupil {id} at this school. Pick the pupil from the list (search by name or class).", "unknown-pupil", StatusCodes.Status404NotFound);
}
