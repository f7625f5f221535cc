using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Kezekshi.Server.Sync.Domain;
using Kezekshi.Server.Sync.Store;

namespace Kezekshi.Server.Sync.Api;

/// <summary>
/// The centre's HTTP API (issue 4 §4): schools, classes, pupils, guardians, cards, consents, templates, top-ups, balances,
/// a parent's view of their own child, region dashboards, announcements. Documented with examples in docs/centre-api.md.
/// </summary>
/// <remarks>
/// Every route under <c>/api</c> added here needs an API key (<see cref="ApiKeyRing"/>) of one of the roles it names.
/// Bodies and route values are parsed here rather than by model binding so that a bad one is answered with a 400 problem
/// naming the field (<c>errors: { "amountTiyn": [...] }</c>) instead of an empty 400.
/// </remarks>
public static class CentreApi
{
    // Web defaults (camelCase) with Kazakh and Russian names and "+7…" phones written as themselves rather than \uXXXX
    // escapes (the relaxed encoder is safe here: answers are application/json, never embedded in HTML); numbers must be
    // JSON numbers, so "amountTiyn": "2000" is refused with the field named.
    private static readonly ApiJsonContext s_json = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.Strict,
        MaxDepth = 16,
    });

    /// <summary>Registers the domain services, the key ring (from <c>Centre:ApiKeys</c>) and the JSON metadata.</summary>
    public static WebApplicationBuilder AddCentreApi(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        builder.Services.AddSingleton(_ => new ApiKeyRing(ReadKeys(configuration.GetSection("Centre:ApiKeys"))));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new Roster(sp.GetRequiredService<CentreDatabase>()));
        builder.Services.AddSingleton(sp => new ConsentRegistry(sp.GetRequiredService<CentreDatabase>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton(sp => new CanteenMoney(sp.GetRequiredService<CentreDatabase>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton(sp => new Reports(sp.GetRequiredService<CentreDatabase>(), configuration["Centre:TimeZone"] ?? "Asia/Almaty"));
        builder.Services.AddSingleton(sp => new Notices(sp.GetRequiredService<CentreDatabase>()));
        builder.Services.AddSingleton(sp => new TemplateTransfers(sp.GetRequiredService<CentreDatabase>()));
        builder.Services.AddSingleton(sp => new StaffRoster(sp.GetRequiredService<CentreDatabase>()));
        builder.Services.AddSingleton(sp => new TemplateDeletions(sp.GetRequiredService<CentreDatabase>()));
        builder.Services.AddSingleton(sp => new Snapshots(sp.GetRequiredService<CentreDatabase>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, s_json));
        return builder;
    }

    /// <summary>Maps every endpoint of the API under <c>/api</c>.</summary>
    public static WebApplication MapCentreApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var ring = app.Services.GetRequiredService<ApiKeyRing>(); // a bad key configuration stops the start here, with its reason
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(CentreApi).FullName!);
        foreach (string role in ApiRoles.All.Except(ring.EnabledRoles)) ApiLog.RoleDisabled(logger, role, role.Replace("-", "", StringComparison.Ordinal));

        var api = app.MapGroup("/api").AddEndpointFilter(TranslateFailures);
        var json = s_json;

        // Schools
        api.MapGet("/schools", async (HttpRequest request, Roster roster, CancellationToken ct) =>
            Json(await roster.ListSchoolsAsync(request.Query["region"].FirstOrDefault() is { } r ? Check.Region(r) : null, ct).ConfigureAwait(false), json.ListSchoolView))
            .Allow(ApiRoles.Admin, ApiRoles.Region);
        api.MapPut("/schools/{id}", async (string id, HttpRequest request, Roster roster, CancellationToken ct) =>
            Json(await roster.RegisterSchoolAsync(id, await BodyAsync(request, json.SchoolRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false), json.SchoolView))
            .Allow(ApiRoles.Admin);
        api.MapGet("/schools/{school}/classes", async (string school, Roster roster, CancellationToken ct) =>
            Json(await roster.ListClassesAsync(school, ct).ConfigureAwait(false), json.ListClassView))
            .Allow(ApiRoles.Admin);
        api.MapPost("/schools/{school}/classes", async (string school, HttpRequest request, Roster roster, CancellationToken ct) =>
        {
            var (written, created) = await roster.PutClassAsync(school, await BodyAsync(request, json.ClassRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            return Json(written, json.ClassView, created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
        }).Allow(ApiRoles.Admin);
        api.MapDelete("/schools/{school}/classes/{classId}", async (string school, string classId, Roster roster, CancellationToken ct) =>
            Json(await roster.RemoveClassAsync(school, IdArg(classId, "classId"), ct).ConfigureAwait(false), json.ClassView))
            .Allow(ApiRoles.Admin);
        api.MapPost("/schools/{school}/resync", async (string school, HttpRequest request, Snapshots snapshots, CancellationToken ct) =>
        {
            var written = await snapshots.ResyncAsync(school, await BodyAsync(request, json.ResyncRequest, ct, allowEmpty: true).ConfigureAwait(false), ct).ConfigureAwait(false);
            ApiLog.ResyncWritten(logger, written.School, written.SnapshotId, written.FromVersion, written.ToVersion, written.Reason);
            return Json(written, json.SnapshotView, StatusCodes.Status202Accepted);
        }).Allow(ApiRoles.Admin);
        api.MapPut("/schools/{school}/holidays/{day}", async (string school, string day, HttpRequest request, Notices notices, CancellationToken ct) =>
            Json(await notices.SetHolidayAsync(school, DateArg(day, "day")!.Value, await BodyAsync(request, json.HolidayRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false),
                json.ChangeReceipt))
            .Allow(ApiRoles.Admin);
        api.MapPut("/schools/{school}/menus/{day}", async (string school, string day, HttpRequest request, Notices notices, CancellationToken ct) =>
            Json(await notices.PublishMenuAsync(school, DateArg(day, "day")!.Value, await BodyAsync(request, json.MenuRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false),
                json.ChangeReceipt))
            .Allow(ApiRoles.Admin);
        api.MapDelete("/schools/{school}/holidays/{day}", async (string school, string day, Notices notices, CancellationToken ct) =>
            Json(await notices.RemoveHolidayAsync(school, DateArg(day, "day")!.Value, ct).ConfigureAwait(false), json.ChangeReceipt))
            .Allow(ApiRoles.Admin);
        api.MapPut("/schools/{school}/schedules/roles/{role}", async (string school, string role, HttpRequest request, Notices notices, CancellationToken ct) =>
            Json(await notices.ReplaceRoleScheduleAsync(school, role, await BodyAsync(request, json.ScheduleRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false),
                json.ChangeReceipt))
            .Allow(ApiRoles.Admin);

        // Staff (display name and role go to the school; their cards are issued under Cards with holderKind staff)
        api.MapGet("/schools/{school}/staff", async (string school, StaffRoster staff, CancellationToken ct) =>
            Json(await staff.ListAsync(school, ct).ConfigureAwait(false), json.ListStaffView))
            .Allow(ApiRoles.Admin);
        api.MapPost("/schools/{school}/staff", async (string school, HttpRequest request, StaffRoster staff, CancellationToken ct) =>
        {
            var added = await staff.AddAsync(school, await BodyAsync(request, json.StaffRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            return Json(added, json.StaffView, StatusCodes.Status201Created, $"/api/staff/{added.StaffId}");
        }).Allow(ApiRoles.Admin);
        api.MapPut("/staff/{id}", async (string id, HttpRequest request, StaffRoster staff, CancellationToken ct) =>
            Json(await staff.UpdateAsync(IdArg(id, "staffId"), await BodyAsync(request, json.StaffRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false), json.StaffView))
            .Allow(ApiRoles.Admin);
        api.MapPost("/staff/{id}/leave", async (string id, StaffRoster staff, CancellationToken ct) =>
            Json(await staff.LeaveAsync(IdArg(id, "staffId"), ct).ConfigureAwait(false), json.StaffView))
            .Allow(ApiRoles.Admin);
        api.MapPut("/schools/{school}/schedules/classes/{classId}", async (string school, string classId, HttpRequest request, Notices notices, CancellationToken ct) =>
            Json(await notices.ReplaceClassScheduleAsync(school, IdArg(classId, "classId"), await BodyAsync(request, json.ScheduleRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false),
                json.ChangeReceipt))
            .Allow(ApiRoles.Admin);

        // Pupils and guardians
        api.MapPost("/pupils", async (HttpRequest request, Roster roster, CancellationToken ct) =>
        {
            var pupil = await roster.EnrolPupilAsync(await BodyAsync(request, json.PupilRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            return Json(pupil, json.PupilView, StatusCodes.Status201Created, $"/api/pupils/{pupil.PupilId}");
        }).Allow(ApiRoles.Admin);
        api.MapGet("/pupils/{id}", async (string id, Roster roster, CancellationToken ct) =>
            Json(await roster.GetPupilAsync(IdArg(id, "pupilId"), ct).ConfigureAwait(false), json.PupilView))
            .Allow(ApiRoles.Admin);
        api.MapPut("/pupils/{id}", async (string id, HttpRequest request, Roster roster, CancellationToken ct) =>
            Json(await roster.UpdatePupilAsync(IdArg(id, "pupilId"), await BodyAsync(request, json.PupilRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false), json.PupilView))
            .Allow(ApiRoles.Admin);
        api.MapPost("/pupils/{id}/leave", async (string id, Roster roster, CancellationToken ct) =>
            Json(await roster.LeavePupilAsync(IdArg(id, "pupilId"), ct).ConfigureAwait(false), json.PupilView))
            .Allow(ApiRoles.Admin);
        api.MapPut("/pupils/{id}/limit", async (string id, HttpRequest request, CanteenMoney money, CancellationToken ct) =>
            Json(await money.SetDailyLimitAsync(IdArg(id, "pupilId"), await BodyAsync(request, json.LimitRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false), json.PupilView))
            .Allow(ApiRoles.Admin);
        api.MapGet("/pupils/{id}/balance", async (string id, CanteenMoney money, CancellationToken ct) =>
            Json(await money.BalanceAsync(IdArg(id, "pupilId"), ct).ConfigureAwait(false), json.BalanceView))
            .Allow(ApiRoles.Admin);
        api.MapGet("/pupils/{id}/consents", async (string id, ConsentRegistry consents, CancellationToken ct) =>
            Json(await consents.ListAsync(IdArg(id, "pupilId"), ct).ConfigureAwait(false), json.ListConsentView))
            .Allow(ApiRoles.Admin);
        api.MapGet("/pupils/{id}/placements", async (string id, ConsentRegistry consents, CancellationToken ct) =>
            Json(await consents.PlacementsAsync(IdArg(id, "pupilId"), ct).ConfigureAwait(false), json.ListPlacementView))
            .Allow(ApiRoles.Admin);
        api.MapPost("/pupils/{id}/templates", async (string id, HttpRequest request, ConsentRegistry consents, CancellationToken ct) =>
            Json(await consents.SendTemplateAsync(IdArg(id, "pupilId"), await BodyAsync(request, json.TemplateRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false),
                json.ChangeReceipt, StatusCodes.Status201Created))
            .Allow(ApiRoles.Admin);
        api.MapPost("/pupils/{id}/template-deletions", async (string id, HttpRequest request, TemplateDeletions deletions, CancellationToken ct) =>
            Json(await deletions.DeleteAsync(IdArg(id, "pupilId"), await BodyAsync(request, json.TemplateDeleteRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false),
                json.ListTemplateDeletionView, StatusCodes.Status202Accepted))
            .Allow(ApiRoles.Admin);
        api.MapGet("/pupils/{id}/template-deletions", async (string id, TemplateDeletions deletions, CancellationToken ct) =>
            Json(await deletions.ListAsync(IdArg(id, "pupilId"), ct).ConfigureAwait(false), json.ListTemplateDeletionView))
            .Allow(ApiRoles.Admin);
        api.MapPost("/pupils/{id}/templates/transfer", async (string id, HttpRequest request, TemplateTransfers transfers, CancellationToken ct) =>
        {
            var transfer = await transfers.RequestAsync(IdArg(id, "pupilId"), await BodyAsync(request, json.TransferRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            ApiLog.TransferRequested(logger, transfer.TransferId, transfer.PupilId, transfer.From, transfer.To, transfer.Operator);
            return Json(transfer, json.TransferView, StatusCodes.Status202Accepted, $"/api/transfers/{transfer.TransferId}");
        }).Allow(ApiRoles.Admin);
        api.MapGet("/pupils/{id}/transfers", async (string id, TemplateTransfers transfers, CancellationToken ct) =>
            Json(await transfers.ListAsync(IdArg(id, "pupilId"), ct).ConfigureAwait(false), json.ListTransferView))
            .Allow(ApiRoles.Admin);
        api.MapGet("/transfers/{id}", async (string id, TemplateTransfers transfers, CancellationToken ct) =>
            Json(await transfers.GetAsync(id, ct).ConfigureAwait(false), json.TransferView))
            .Allow(ApiRoles.Admin);
        api.MapPost("/guardians", async (HttpRequest request, Roster roster, CancellationToken ct) =>
        {
            var guardian = await roster.AddGuardianAsync(await BodyAsync(request, json.GuardianRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            return Json(guardian, json.GuardianView, StatusCodes.Status201Created);
        }).Allow(ApiRoles.Admin);
        api.MapPut("/guardians/{guardianId}/pupils/{pupilId}", async (string guardianId, string pupilId, HttpRequest request, Roster roster, CancellationToken ct) =>
            Json(await roster.LinkGuardianAsync(IdArg(guardianId, "guardianId"), IdArg(pupilId, "pupilId"),
                await BodyAsync(request, json.GuardianLinkRequest, ct, allowEmpty: true).ConfigureAwait(false) ?? new GuardianLinkRequest(null), ct).ConfigureAwait(false),
                json.GuardianLinkView))
            .Allow(ApiRoles.Admin);

        // Cards
        api.MapGet("/cards/{number}", async (string number, Roster roster, CancellationToken ct) =>
            Json(await roster.GetCardAsync(IdArg(number, "cardNumber"), ct).ConfigureAwait(false), json.CardView))
            .Allow(ApiRoles.Admin);
        api.MapPut("/cards/{number}", async (string number, HttpRequest request, Roster roster, CancellationToken ct) =>
        {
            var (card, created) = await roster.PutCardAsync(IdArg(number, "cardNumber"), await BodyAsync(request, json.CardRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            return Json(card, json.CardView, created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
        }).Allow(ApiRoles.Admin);
        api.MapPost("/cards/{number}/block", async (string number, HttpRequest request, Roster roster, CancellationToken ct) =>
            Json(await roster.BlockCardAsync(IdArg(number, "cardNumber"),
                await BodyAsync(request, json.CardBlockRequest, ct, allowEmpty: true).ConfigureAwait(false) ?? new CardBlockRequest(null), ct).ConfigureAwait(false), json.CardView))
            .Allow(ApiRoles.Admin);

        // Consents
        api.MapPost("/consents", async (HttpRequest request, ConsentRegistry consents, CancellationToken ct) =>
        {
            var (consent, created) = await consents.GrantAsync(await BodyAsync(request, json.ConsentRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            return Json(consent, json.ConsentView, created ? StatusCodes.Status201Created : StatusCodes.Status200OK, $"/api/consents/{consent.ConsentId}");
        }).Allow(ApiRoles.Admin);
        api.MapGet("/consents/{id}", async (string id, ConsentRegistry consents, CancellationToken ct) =>
            Json(await consents.GetAsync(id, ct).ConfigureAwait(false), json.ConsentView))
            .Allow(ApiRoles.Admin);
        foreach (var (path, status) in (ReadOnlySpan<(string, string)>)[("revoke", "revoked"), ("objection", "objection")])
        {
            api.MapPost($"/consents/{{id}}/{path}", async (string id, HttpRequest request, ConsentRegistry consents, CancellationToken ct) =>
            {
                var consent = await consents.EndAsync(id, status, await BodyAsync(request, json.ConsentEndRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
                if (consent.SchoolsNotified.Count > 0)
                    ApiLog.ConsentEnded(logger, consent.ConsentId, consent.PupilId, consent.Status, consent.Operator, string.Join(", ", consent.SchoolsNotified));
                return Json(consent, json.ConsentView);
            }).Allow(ApiRoles.Admin);
        }

        // Money
        api.MapPost("/topups", async (HttpRequest request, CanteenMoney money, CancellationToken ct) =>
        {
            var topup = await money.TopupAsync(await BodyAsync(request, json.TopupRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            if (topup.Created) ApiLog.TopupRecorded(logger, topup.TopupId, topup.AmountTiyn, topup.PupilId, topup.Source);
            return Json(topup, json.TopupView, topup.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
        }).Allow(ApiRoles.Admin, ApiRoles.ParentPortal);

        // A parent's view (through the parent portal): only a guardian linked to the pupil.
        api.MapGet("/parent/guardians/{guardianId}/pupils/{pupilId}/passages", async (string guardianId, string pupilId, HttpRequest request, Reports reports, CancellationToken ct) =>
            Json(await reports.PassagesForGuardianAsync(IdArg(guardianId, "guardianId"), IdArg(pupilId, "pupilId"), DateArg(request.Query["from"], "from"),
                DateArg(request.Query["to"], "to"), ct).ConfigureAwait(false), json.ListPassageView))
            .Allow(ApiRoles.ParentPortal, ApiRoles.Admin);
        api.MapGet("/parent/guardians/{guardianId}/pupils/{pupilId}/purchases", async (string guardianId, string pupilId, HttpRequest request, Reports reports, CancellationToken ct) =>
            Json(await reports.PurchasesForGuardianAsync(IdArg(guardianId, "guardianId"), IdArg(pupilId, "pupilId"), DateArg(request.Query["from"], "from"),
                DateArg(request.Query["to"], "to"), ct).ConfigureAwait(false), json.ListPurchaseView))
            .Allow(ApiRoles.ParentPortal, ApiRoles.Admin);
        api.MapGet("/parent/guardians/{guardianId}/pupils/{pupilId}/balance", async (string guardianId, string pupilId, Reports reports, CanteenMoney money, CancellationToken ct) =>
        {
            long pupil = IdArg(pupilId, "pupilId");
            await reports.RequireGuardianOfAsync(IdArg(guardianId, "guardianId"), pupil, ct).ConfigureAwait(false);
            return Json(await money.BalanceAsync(pupil, ct).ConfigureAwait(false), json.BalanceView);
        }).Allow(ApiRoles.ParentPortal, ApiRoles.Admin);

        // Region
        api.MapGet("/regions/{region}/dashboard", async (string region, HttpRequest request, Reports reports, CancellationToken ct) =>
            Json(await reports.DashboardAsync(region, DateArg(request.Query["from"], "from"), DateArg(request.Query["to"], "to"), ct).ConfigureAwait(false),
                json.ListDashboardRow))
            .Allow(ApiRoles.Region, ApiRoles.Admin);
        api.MapPost("/announcements", async (HttpRequest request, Notices notices, CancellationToken ct) =>
            Json(await notices.AnnounceAsync(await BodyAsync(request, json.AnnouncementRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false),
                json.ChangeReceipt, StatusCodes.Status201Created))
            .Allow(ApiRoles.Admin);
        api.MapPost("/announcements/{id}/withdraw", async (string id, HttpRequest request, Notices notices, CancellationToken ct) =>
            Json(await notices.WithdrawAnnouncementAsync(id, await BodyAsync(request, json.AnnouncementWithdrawRequest, ct).ConfigureAwait(false), ct).ConfigureAwait(false),
                json.ChangeReceipt))
            .Allow(ApiRoles.Admin);
        return app;
    }

    /// <summary>Only callers presenting the key of one of <paramref name="roles"/> reach the endpoint: 401 without a valid key, 403 with another role's.</summary>
    private static RouteHandlerBuilder Allow(this RouteHandlerBuilder endpoint, params string[] roles) =>
        endpoint.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var ring = http.RequestServices.GetRequiredService<ApiKeyRing>();
            string? role = ring.RoleOf(http.Request.Headers[ApiKeyRing.Header].FirstOrDefault());
            if (role is null)
            {
                Refused(http, "no valid API key");
                http.Response.Headers.WWWAuthenticate = $"ApiKey header=\"{ApiKeyRing.Header}\"";
                return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "API key required",
                    detail: $"Send the key of your role in the {ApiKeyRing.Header} header; this endpoint is for: {string.Join(", ", roles)}.");
            }
            if (!roles.Contains(role))
            {
                Refused(http, $"role {role} is not allowed here");
                return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not allowed for this role",
                    detail: $"The {role} key cannot use {http.Request.Method} {http.Request.Path}; this endpoint is for: {string.Join(", ", roles)}.");
            }
            return await next(context).ConfigureAwait(false);
        });

    private static void Refused(HttpContext http, string reason) =>
        ApiLog.Refused(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(CentreApi).FullName!),
            http.Request.Method, http.Request.Path, http.Connection.RemoteIpAddress?.ToString() ?? "?", reason);

    /// <summary>Domain refusals become problem details (400 with the field, 404, 403, 409); an unreachable database a 503.</summary>
    private static async ValueTask<object?> TranslateFailures(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (CentreRequestException e) when (e.Problem == RequestProblem.Invalid && e.Field is not null)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { [e.Field] = [e.Message] }, detail: e.Message, title: $"Invalid {e.Field}");
        }
        catch (CentreRequestException e)
        {
            var (status, title) = e.Problem switch
            {
                RequestProblem.NotFound => (StatusCodes.Status404NotFound, "Not found"),
                RequestProblem.Forbidden => (StatusCodes.Status403Forbidden, "Forbidden"),
                RequestProblem.Conflict => (StatusCodes.Status409Conflict, "Conflict"),
                _ => (StatusCodes.Status400BadRequest, "Invalid request"),
            };
            return Results.Problem(statusCode: status, title: title, detail: e.Message,
                extensions: e.Field is null ? null : new Dictionary<string, object?> { ["field"] = e.Field });
        }
        catch (CentreStoreException e)
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Centre database unavailable", detail: e.Message);
        }
    }

    private static IResult Json<T>(T value, JsonTypeInfo<T> typeInfo, int status = StatusCodes.Status200OK, string? location = null) =>
        location is null ? Results.Json(value, typeInfo, statusCode: status) : new LocatedJson<T>(value, typeInfo, status, location);

    /// <summary>Reads a JSON body; a malformed one is refused naming the field where parsing stopped.</summary>
    private static async Task<T> BodyAsync<T>(HttpRequest request, JsonTypeInfo<T> typeInfo, CancellationToken ct) =>
        await BodyAsync(request, typeInfo, ct, allowEmpty: false).ConfigureAwait(false)
        ?? throw CentreRequestException.Invalid("body", "The request needs a JSON object body (Content-Type: application/json); see docs/centre-api.md.");

    private static async Task<T?> BodyAsync<T>(HttpRequest request, JsonTypeInfo<T> typeInfo, CancellationToken ct, bool allowEmpty)
    {
        if (request.ContentLength == 0 || request.ContentLength is null && !request.Headers.TransferEncoding.Any())
        {
            return allowEmpty ? default : throw CentreRequestException.Invalid("body", "The request has no body: send a JSON object (Content-Type: application/json); see docs/centre-api.md.");
        }
        try
        {
            return await JsonSerializer.DeserializeAsync(request.Body, typeInfo, ct).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            // A conversion failure names the property; a syntax error (cut-off body, stray comma) is about the body as a whole.
            bool wrongType = e.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal);
            string field = wrongType && !string.IsNullOrEmpty(e.Path) && e.Path != "$" ? e.Path.TrimStart('$', '.') : "body";
            throw CentreRequestException.Invalid(field, field == "body"
                ? $"The body is not a valid JSON object: {e.Message} Check the request against docs/centre-api.md."
                : $"{field} has a value of the wrong type or form (text where a number is expected, a date not in ISO 8601 like 2026-11-21T07:38:12+05:00, a single value where a list is expected). Check the request against docs/centre-api.md.");
        }
    }

    private static long IdArg(string? value, string field) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long id) && id > 0
            ? id
            : throw CentreRequestException.Invalid(field, $"{field} '{Check.Show(value)}' is not a positive whole number.");

    private static DateOnly? DateArg(string? value, string field) =>
        string.IsNullOrEmpty(value) ? null
        : DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) ? day
        : throw CentreRequestException.Invalid(field, $"{field} '{Check.Show(value)}' is not a date: use yyyy-MM-dd, e.g. 2026-11-21.");

    private static Dictionary<string, string?> ReadKeys(IConfigurationSection section)
    {
        // Environment variables cannot easily hold '-': Centre__ApiKeys__ParentPortal names the parent-portal key too.
        var keys = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var child in section.GetChildren())
        {
            string normalised = child.Key.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal);
            string role = ApiRoles.All.FirstOrDefault(r => string.Equals(r.Replace("-", "", StringComparison.Ordinal), normalised, StringComparison.OrdinalIgnoreCase))
                ?? child.Key;
            keys[role] = child.Value;
        }
        return keys;
    }

    /// <summary>A JSON answer with a <c>Location</c> header (201 Created).</summary>
    private sealed class LocatedJson<T>(T value, JsonTypeInfo<T> typeInfo, int status, string location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.Location = location;
            return Results.Json(value, typeInfo, statusCode: status).ExecuteAsync(httpContext);
        }
    }
}
