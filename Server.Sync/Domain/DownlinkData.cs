using System.Text.Json.Serialization;

namespace Kezekshi.Server.Sync.Domain;

// The `data` objects of the downlink changes the centre writes, field for field as docs/sync-protocol.md §5.1 shows them.
// Only what a school needs travels: a display name, never the full name; IDs, never documents.

/// <summary><c>class.upsert</c>.</summary>
public sealed record ClassData(long ClassId, string Name, int Grade);

/// <summary><c>class.remove</c>: the school drops the class and its schedule (it has no active pupils left).</summary>
public sealed record ClassRemoveData(long ClassId);

/// <summary>
/// <c>template.delete</c>: the school deletes the template it received under <see cref="TemplateId"/> (the source id of the
/// <c>template.upsert</c>) with a deletion receipt, and confirms the purge in <c>up/acks</c> under <see cref="DeletionId"/>.
/// </summary>
public sealed record TemplateDeleteData(string DeletionId, string TemplateId, long PupilId, string Reason);

/// <summary><c>snapshot.begin</c>: what follows up to the matching <c>snapshot.end</c> is the school's whole current state.</summary>
public sealed record SnapshotBeginData(string SnapshotId, string Reason);

/// <summary>
/// <c>snapshot.end</c>: the keys of everything sent between begin and end arrived in <see cref="Parts"/> <c>snapshot.keys</c>
/// changes; <see cref="Counts"/> is the number of keys per list. The school checks both against what it received and only then
/// removes (marks left, blocks, revokes, withdraws) what it holds from the centre and is not listed (docs/sync-protocol.md §5.4).
/// </summary>
public sealed record SnapshotEndData(string SnapshotId, int Parts, IReadOnlyDictionary<string, int> Counts);

/// <summary><c>pupil.upsert</c>: the display name only; the full name stays at the centre.</summary>
public sealed record PupilData(long PupilId, long ClassId, string DisplayName, string Status);

/// <summary><c>pupil.leave</c>: the school sets the pupil to <c>left</c> and removes their templates.</summary>
public sealed record PupilLeaveData(long PupilId);

/// <summary><c>card.upsert</c>.</summary>
public sealed record CardData(long CardNumber, string HolderKind, long HolderId, string Status);

/// <summary><c>card.block</c>: <see cref="Status"/> is <c>blocked</c> or <c>lost</c>.</summary>
public sealed record CardBlockData(long CardNumber, string Status);

/// <summary><c>consent.grant</c>: purposes a school may process the pupil's data for.</summary>
public sealed record ConsentGrantData(string ConsentId, long PupilId, IReadOnlyList<string> Purposes, DateTimeOffset? ExpiresAt);

/// <summary><c>consent.revoke</c>: the school drops templates for these purposes at once and purges them by <see cref="PurgeBy"/>.</summary>
public sealed record ConsentRevokeData(string ConsentId, long PupilId, IReadOnlyList<string> Purposes, DateTimeOffset PurgeBy);

/// <summary>
/// <c>template.upsert</c>: a template sealed by the source school for the target school's public key (docs/sync-protocol.md
/// §5.3); every clear field is bound to the ciphertext as associated data. The centre relays it and cannot open it.
/// </summary>
public sealed record TemplateData(string TemplateId, long PupilId, string Modality, string Model, float Quality, string SourceSchool, string TargetSchool,
    string KeyId, string Alg, string Epk, string Nonce, string Ciphertext, string Tag, string? TransferId);

/// <summary><c>template.export.request</c>: asks the source school to seal the pupil's templates for the target school's public key.</summary>
public sealed record TemplateExportRequestData(string TransferId, long PupilId, string TargetSchool, string TargetKeyId, string TargetPublicKey);

/// <summary><c>staff.upsert</c>: the display name only; the full name stays at the centre.</summary>
public sealed record StaffData(long StaffId, string DisplayName, string Role, string Status);

/// <summary><c>staff.leave</c>: the school sets the person to <c>left</c> and blocks their cards.</summary>
public sealed record StaffLeaveData(long StaffId);

/// <summary><c>holiday.remove</c>: the day (yyyy-MM-dd) is a school day again.</summary>
public sealed record HolidayRemoveData(string Day);

/// <summary><c>announcement.withdraw</c>.</summary>
public sealed record AnnouncementWithdrawData(string AnnouncementId);

/// <summary><c>schedule.replace</c> for a staff role: the whole set of windows when people of that role may pass.</summary>
public sealed record RoleScheduleData(string AppliesTo, string Role, IReadOnlyList<ScheduleWindowData> Windows);

/// <summary><c>topup</c>: applied once by <see cref="TopupId"/> into the school's canteen ledger.</summary>
public sealed record TopupData(string TopupId, long PupilId, long AmountTiyn, DateTimeOffset At);

/// <summary><c>limits.set</c>: the offline daily spending cap in tiyn.</summary>
public sealed record LimitsData(long PupilId, long DailyLimitTiyn);

/// <summary><c>announcement</c>.</summary>
public sealed record AnnouncementData(string AnnouncementId, string Title, string Body, DateTimeOffset ShowFrom, DateTimeOffset ShowUntil);

/// <summary><c>holiday.set</c>: a day (yyyy-MM-dd) the school is closed.</summary>
public sealed record HolidayData(string Day, string Name);

/// <summary><c>menu.publish</c>: the day's menu with prices in tiyn; the school replaces the menu of that day.</summary>
public sealed record MenuData(string MenuId, string Day, IReadOnlyList<MenuItemData> Items);

/// <summary>One dish of a <see cref="MenuData"/>.</summary>
public sealed record MenuItemData(long MenuItemId, string Name, long PriceTiyn);

/// <summary><c>schedule.replace</c> for a class: the whole set of windows when its pupils may pass (none = any time).</summary>
public sealed record ScheduleData(string AppliesTo, long ClassId, IReadOnlyList<ScheduleWindowData> Windows);

/// <summary>One window of a <see cref="ScheduleData"/>: ISO weekday 1 (Monday) – 7, local times HH:mm.</summary>
public sealed record ScheduleWindowData(int Weekday, string From, string Until);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ClassData))]
[JsonSerializable(typeof(ClassRemoveData))]
[JsonSerializable(typeof(TemplateDeleteData))]
[JsonSerializable(typeof(SnapshotBeginData))]
[JsonSerializable(typeof(SnapshotEndData))]
[JsonSerializable(typeof(PupilData))]
[JsonSerializable(typeof(PupilLeaveData))]
[JsonSerializable(typeof(CardData))]
[JsonSerializable(typeof(CardBlockData))]
[JsonSerializable(typeof(ConsentGrantData))]
[JsonSerializable(typeof(ConsentRevokeData))]
[JsonSerializable(typeof(TemplateData))]
[JsonSerializable(typeof(TemplateExportRequestData))]
[JsonSerializable(typeof(StaffData))]
[JsonSerializable(typeof(StaffLeaveData))]
[JsonSerializable(typeof(HolidayRemoveData))]
[JsonSerializable(typeof(AnnouncementWithdrawData))]
[JsonSerializable(typeof(RoleScheduleData))]
[JsonSerializable(typeof(TopupData))]
[JsonSerializable(typeof(LimitsData))]
[JsonSerializable(typeof(AnnouncementData))]
[JsonSerializable(typeof(HolidayData))]
[JsonSerializable(typeof(MenuData))]
[JsonSerializable(typeof(ScheduleData))]
internal sealed partial class DownlinkJsonContext : JsonSerializerContext;
