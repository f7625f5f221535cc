namespace Kezekshi.Server.Sync.Domain;

// What the centre answers. Pupils appear by their pseudonymous ID; the full name only in the admin's pupil view.

/// <summary>A school in the registry with its downlink feed position.</summary>
public sealed record SchoolView(string Id, string Region, string Name, DateTimeOffset? LastSeen, long FeedVersion, long DownlinkAckedVersion);

/// <summary>A class.</summary>
public sealed record ClassView(long ClassId, string School, string Name, int Grade);

/// <summary>A pupil as the centre's administration sees them.</summary>
public sealed record PupilView(long PupilId, string FullName, string DisplayName, string School, long ClassId, string Status, long? DailyLimitTiyn);

/// <summary>A guardian.</summary>
public sealed record GuardianView(long GuardianId, string FullName, string? Phone);

/// <summary>A guardian ↔ pupil link.</summary>
public sealed record GuardianLinkView(long GuardianId, long PupilId, string Relation);

/// <summary>A card.</summary>
public sealed record CardView(long CardNumber, string HolderKind, long HolderId, string Status);

/// <summary>A consent and, after a grant, revocation or objection, the schools the change was sent to.</summary>
public sealed record ConsentView(string ConsentId, long PupilId, string GivenBy, long? GuardianId, IReadOnlyList<string> Purposes, string Status,
    string DocumentSha256, DateTimeOffset? ExpiresAt, string Operator, bool NoCrossBorder, DateTimeOffset GrantedAt, DateTimeOffset? EndedAt,
    IReadOnlyList<string> SchoolsNotified);

/// <summary>A template placement.</summary>
public sealed record PlacementView(string TemplateId, long PupilId, string School, long Version);

/// <summary>A top-up; <see cref="Created"/> is false when the same top-up was already recorded (an idempotent repeat).</summary>
public sealed record TopupView(string TopupId, long PupilId, long AmountTiyn, DateTimeOffset At, string Source, bool Created);

/// <summary>The pupil's canteen balance at the centre: top-ups (centre) − charges + refunds (from the schools' uplink events).</summary>
public sealed record BalanceView(long PupilId, long TopupsTiyn, long ChargesTiyn, long RefundsTiyn, long BalanceTiyn);

/// <summary>A passage of a pupil, as the parent sees it.</summary>
/// <param name="Credential">"card", "face", or null (a manual pass, or a school whose agent predates the field): parents see when their child's face opened the gate.</param>
public sealed record PassageView(string School, string Gate, string Direction, string Decision, string Outcome, DateTimeOffset DecidedAt, string? Credential = null);

/// <summary>A canteen purchase (<c>charge</c>) or refund, as the parent sees it.</summary>
public sealed record PurchaseView(string Kind, string Id, string School, long AmountTiyn, DateTimeOffset? At);

/// <summary>One school's day on the region dashboard: distinct pupils who entered, and canteen charges (meals).</summary>
public sealed record DashboardRow(string School, string Name, DateOnly Day, long Attendance, long Meals);

/// <summary>The changes an administrative action wrote: which schools, which versions.</summary>
public sealed record ChangeReceipt(string Kind, IReadOnlyList<SchoolVersion> Changes);

/// <summary>One change written to one school's feed.</summary>
public sealed record SchoolVersion(string School, long Version);

/// <summary>A template transfer: <c>requested</c> (waiting for the source school), <c>delivered</c> (sealed templates put on
/// the target's feed) or <c>refused</c> (by the source school or because its answer did not match; <see cref="Detail"/> says why).</summary>
public sealed record TransferView(string TransferId, long PupilId, string From, string To, string TargetKeyId, string Status, int Templates, string? Detail,
    string Operator, DateTimeOffset RequestedAt, DateTimeOffset? AnsweredAt, long RequestVersion);

/// <summary>A staff member as the centre's administration sees them.</summary>
public sealed record StaffView(long StaffId, string School, string FullName, string DisplayName, string Role, string Status);

/// <summary>A <c>template.delete</c> sent to a school; <see cref="PurgedAt"/> once the school confirmed the purge.</summary>
public sealed record TemplateDeletionView(string DeletionId, long PupilId, string School, string TemplateId, string Reason, string Operator, long Version,
    DateTimeOffset? PurgedAt, int? TemplatesPurged);

/// <summary>A snapshot written to a school's feed: versions <see cref="FromVersion"/> (snapshot.begin) to <see cref="ToVersion"/> (snapshot.end).</summary>
public sealed record SnapshotView(string School, string SnapshotId, string Reason, long FromVersion, long ToVersion, int Classes, int Pupils, int Staff,
    int Cards, int Consents, int Changes)
{
    /// <summary>How many <c>snapshot.keys</c> changes carry the key lists.</summary>
    public int KeyParts { get; init; }
}
