namespace Kezekshi.Server.Sync.Domain;

// What callers send. Every field is nullable so that a missing one is refused with its name (400) instead of a
// deserialisation failure without one; the domain services check them.

/// <summary>Register a school or change its region and name.</summary>
public sealed record SchoolRequest(string? Region, string? Name);

/// <summary>Create a class in a school, or change its grade (a class is known by its name within the school).</summary>
public sealed record ClassRequest(string? Name, int? Grade);

/// <summary>Enrol a pupil (POST) or change class and names (PUT). The class decides the school.</summary>
/// <param name="DisplayName">What the school's screens show; defaults to the first word of the full name and the initial of the second.</param>
public sealed record PupilRequest(long? ClassId, string? FullName, string? DisplayName);

/// <summary>Add a guardian.</summary>
public sealed record GuardianRequest(string? FullName, string? Phone);

/// <summary>Link a guardian to a pupil: <c>parent</c>, <c>legal-guardian</c> or <c>trustee</c>.</summary>
public sealed record GuardianLinkRequest(string? Relation);

/// <summary>Issue a card or change its holder or status.</summary>
public sealed record CardRequest(string? HolderKind, long? HolderId, string? Status);

/// <summary>Block a card: <c>blocked</c> (default) or <c>lost</c>.</summary>
public sealed record CardBlockRequest(string? Status);

/// <summary>Record a consent. <see cref="ConsentId"/> from the caller makes the POST idempotent.</summary>
/// <param name="GivenBy"><c>guardian</c> (then <see cref="GuardianId"/>) or <c>pupil</c> (a pupil old enough to consent).</param>
/// <param name="DocumentSha256">SHA-256 (hex) of the signed form, which stays in the school office or the e-gov archive.</param>
/// <param name="NoCrossBorder">Data covered by this consent never leaves the country (default true).</param>
public sealed record ConsentRequest(string? ConsentId, long? PupilId, string? GivenBy, long? GuardianId, IReadOnlyList<string>? Purposes,
    string? DocumentSha256, DateTimeOffset? ExpiresAt, string? Operator, bool? NoCrossBorder);

/// <summary>Revoke a consent or record an objection to it.</summary>
public sealed record ConsentEndRequest(string? Operator);

/// <summary>
/// Relay a template already sealed for a school's public key (docs/sync-protocol.md §5.3) to that school, under an active
/// consent that covers access. The usual way is a transfer (<see cref="TransferRequest"/>); this is for a sealed template
/// produced elsewhere (e.g. kept by the source school's export tool).
/// </summary>
public sealed record TemplateRequest(string? TemplateId, string? School, string? Modality, string? Model, string? ConsentId, string? KeyId,
    string? Alg, string? SourceSchool, float? Quality, string? Epk, string? Nonce, string? Ciphertext, string? Tag);

/// <summary>Move a pupil's templates from school <see cref="From"/> to school <see cref="To"/>, sealed end to end.</summary>
public sealed record TransferRequest(string? From, string? To, string? Operator);

/// <summary>Add a staff member to a school (POST) or change them (PUT).</summary>
/// <param name="Role">teacher, guard, canteen, office, it or service.</param>
public sealed record StaffRequest(string? FullName, string? DisplayName, string? Role);

/// <summary>Withdraw an announcement from the listed schools, or from every school of <see cref="Region"/>.</summary>
public sealed record AnnouncementWithdrawRequest(IReadOnlyList<string>? Schools, string? Region);

/// <summary>A top-up. <see cref="TopupId"/> is the caller's (payment provider's) id: repeating the request is harmless.</summary>
public sealed record TopupRequest(string? TopupId, long? PupilId, long? AmountTiyn, DateTimeOffset? At, string? Source);

/// <summary>The pupil's offline daily spending cap in tiyn.</summary>
public sealed record LimitRequest(long? DailyLimitTiyn);

/// <summary>An announcement for the listed schools, or for every school of <see cref="Region"/>.</summary>
public sealed record AnnouncementRequest(string? AnnouncementId, IReadOnlyList<string>? Schools, string? Region, string? Title, string? Body,
    DateTimeOffset? ShowFrom, DateTimeOffset? ShowUntil);

/// <summary>A school holiday.</summary>
public sealed record HolidayRequest(string? Name);

/// <summary>A day's menu. <see cref="MenuId"/> defaults to <c>m-{day}</c>.</summary>
public sealed record MenuRequest(string? MenuId, IReadOnlyList<MenuItemRequest>? Items);

/// <summary>A dish: its id in the school's price list, its name, its price in tiyn.</summary>
public sealed record MenuItemRequest(long? MenuItemId, string? Name, long? PriceTiyn);

/// <summary>The windows when a class may pass; an empty list means any time.</summary>
public sealed record ScheduleRequest(IReadOnlyList<ScheduleWindowRequest>? Windows);

/// <summary>A window: ISO weekday 1 (Monday) – 7 and local times <c>HH:mm</c>.</summary>
public sealed record ScheduleWindowRequest(int? Weekday, string? From, string? Until);

/// <summary>
/// Delete a pupil's templates placed at <see cref="School"/>: the one named by <see cref="TemplateId"/>, all of a
/// <see cref="Modality"/> (face, palm), or, with neither, every template the centre sent there for the pupil.
/// </summary>
public sealed record TemplateDeleteRequest(string? School, string? TemplateId, string? Modality, string? Reason, string? Operator);

/// <summary>Send a school its whole current state again (a snapshot), e.g. after its gate PC was restored from an old backup.</summary>
public sealed record ResyncRequest(string? Reason);
