using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Npgsql;
using NpgsqlTypes;

namespace Kezekshi.Server.Sync.Domain;

/// <summary>The downlink change kinds the centre writes (docs/sync-protocol.md §5.1 table).</summary>
public static class ChangeKinds
{
    public const string ClassUpsert = "class.upsert";
    public const string ClassRemove = "class.remove";
    public const string TemplateDelete = "template.delete";
    public const string SnapshotBegin = "snapshot.begin";
    public const string SnapshotEnd = "snapshot.end";
    public const string SnapshotKeys = "snapshot.keys";
    public const string PupilUpsert = "pupil.upsert";
    public const string PupilLeave = "pupil.leave";
    public const string CardUpsert = "card.upsert";
    public const string CardBlock = "card.block";
    public const string ConsentGrant = "consent.grant";
    public const string ConsentRevoke = "consent.revoke";
    public const string TemplateUpsert = "template.upsert";
    public const string Topup = "topup";
    public const string LimitsSet = "limits.set";
    public const string Announcement = "announcement";
    public const string HolidaySet = "holiday.set";
    public const string MenuPublish = "menu.publish";
    public const string ScheduleReplace = "schedule.replace";
    public const string TemplateExportRequest = "template.export.request";
    public const string StaffUpsert = "staff.upsert";
    public const string StaffLeave = "staff.leave";
    public const string HolidayRemove = "holiday.remove";
    public const string AnnouncementWithdraw = "announcement.withdraw";

    /// <summary>Every kind of protocol version 1, including those written by other parts of the centre.</summary>
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        "class.upsert", "class.remove", "pupil.upsert", "pupil.leave", "staff.upsert", "staff.leave", "card.upsert", "card.block",
        "consent.grant", "consent.revoke", "template.upsert", "template.delete", "topup", "price.set", "menu.publish",
        "schedule.replace", "holiday.set", "holiday.remove", "limits.set", "announcement", "announcement.withdraw",
        "snapshot.begin", "snapshot.keys", "snapshot.end", "template.export.request",
    };
}

/// <summary>
/// The per-school downlink change feed (docs/sync-protocol.md §5): appends one change with the school's next version.
/// </summary>
/// <remarks>
/// The version comes from <c>school_feeds</c> with <c>INSERT … ON CONFLICT DO UPDATE SET version = version + 1</c>, which
/// holds the school's feed row locked until the caller's transaction ends. Because the caller writes its domain change in
/// that same transaction, a change is committed together with its version or not at all: versions are contiguous (no
/// hole from a rolled-back change, no version taken twice by concurrent writers), and a change is never lost or doubled.
/// Two writers for one school queue on the row; writers for different schools never contend.
/// </remarks>
public static class ChangeFeed
{
    /// <summary>Appends a change for <paramref name="school"/> inside the caller's transaction and returns its version.</summary>
    /// <param name="dataJson">The change's <c>data</c> object exactly as docs/sync-protocol.md §5.1 shapes it for <paramref name="kind"/>.</param>
    public static async Task<long> AppendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string school, string kind,
        int schemaVersion, string dataJson, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentException.ThrowIfNullOrEmpty(school);
        if (!ChangeKinds.All.Contains(kind))
            throw new ArgumentException($"'{kind}' is not a downlink change kind of protocol version 1 (docs/sync-protocol.md §5.1).", nameof(kind));
        ArgumentOutOfRangeException.ThrowIfLessThan(schemaVersion, 1);
        (long PupilId, string TemplateId)? placement = null;
        using (var document = JsonDocument.Parse(dataJson))
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new ArgumentException("A change's data must be a JSON object.", nameof(dataJson));
            if (kind == ChangeKinds.TemplateUpsert) placement = ReadPlacement(document.RootElement);
        }

        long version;
        await using (var next = new NpgsqlCommand("""
            INSERT INTO school_feeds(school, version) VALUES ($1, 1)
            ON CONFLICT (school) DO UPDATE SET version = school_feeds.version + 1
            RETURNING version
            """, connection, transaction))
        {
            next.Parameters.Add(new NpgsqlParameter { Value = school });
            version = (long)(await next.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO downlink_changes(school, version, type, schema_version, payload) VALUES ($1, $2, $3, $4, $5)", connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = school });
            insert.Parameters.Add(new NpgsqlParameter { Value = version });
            insert.Parameters.Add(new NpgsqlParameter { Value = kind });
            insert.Parameters.Add(new NpgsqlParameter { Value = schemaVersion });
            insert.Parameters.Add(new NpgsqlParameter { Value = dataJson, NpgsqlDbType = NpgsqlDbType.Jsonb });
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        if (placement is var (pupilId, templateId))
        {
            // A template sent to a school is a placement: a later revocation must reach that school too.
            await using var place = new NpgsqlCommand("""
                INSERT INTO template_placements(school, pupil, template_id, version) VALUES ($1, $2, $3, $4)
                ON CONFLICT (school, template_id) DO UPDATE SET pupil = excluded.pupil, version = excluded.version, placed_at = now()
                """, connection, transaction);
            place.Parameters.Add(new NpgsqlParameter { Value = school });
            place.Parameters.Add(new NpgsqlParameter { Value = pupilId });
            place.Parameters.Add(new NpgsqlParameter { Value = templateId });
            place.Parameters.Add(new NpgsqlParameter { Value = version });
            await place.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return version;
    }

    /// <summary>
    /// Appends many changes (schema version 1) in order with contiguous versions inside the caller's transaction and returns
    /// the last version: one counter bump and one multi-row insert instead of two round trips per change, so a snapshot of a
    /// school with 10,000 pupils is written in seconds. Not for <c>template.upsert</c>, which records a placement
    /// (<see cref="AppendAsync(NpgsqlConnection, NpgsqlTransaction, string, string, int, string, CancellationToken)"/> does).
    /// </summary>
    internal static async Task<long> AppendManyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string school,
        IReadOnlyList<(string Kind, string Data)> changes, CancellationToken cancellationToken)
    {
        if (changes.Count == 0) throw new ArgumentException("Nothing to append.", nameof(changes));
        foreach (var (kind, data) in changes)
        {
            if (!ChangeKinds.All.Contains(kind) || kind == ChangeKinds.TemplateUpsert)
                throw new ArgumentException($"'{kind}' cannot be appended in bulk (docs/sync-protocol.md §5.1).", nameof(changes));
            if (data.Length < 2 || data[0] != '{') throw new ArgumentException($"A {kind} change's data must be a JSON object.", nameof(changes));
        }
        long last;
        await using (var next = new NpgsqlCommand("""
            INSERT INTO school_feeds(school, version) VALUES ($1, $2)
            ON CONFLICT (school) DO UPDATE SET version = school_feeds.version + $2
            RETURNING version
            """, connection, transaction))
        {
            next.Parameters.Add(new NpgsqlParameter { Value = school });
            next.Parameters.Add(new NpgsqlParameter { Value = (long)changes.Count });
            last = (long)(await next.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }
        long first = last - changes.Count + 1;
        var versions = new long[changes.Count];
        var kinds = new string[changes.Count];
        var payloads = new string[changes.Count];
        for (int i = 0; i < changes.Count; i++) (versions[i], kinds[i], payloads[i]) = (first + i, changes[i].Kind, changes[i].Data);
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO downlink_changes(school, version, type, schema_version, payload)
            SELECT $1, v, t, 1, p::jsonb FROM unnest($2::bigint[], $3::text[], $4::text[]) AS x(v, t, p)
            """, connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = school });
            insert.Parameters.Add(new NpgsqlParameter { Value = versions });
            insert.Parameters.Add(new NpgsqlParameter { Value = kinds });
            insert.Parameters.Add(new NpgsqlParameter { Value = payloads });
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return last;
    }

    /// <summary>Appends a change whose data is serialised with source-generated metadata, schema version 1.</summary>
    internal static Task<long> AppendAsync<T>(NpgsqlConnection connection, NpgsqlTransaction transaction, string school, string kind,
        T data, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken) =>
        AppendAsync(connection, transaction, school, kind, 1, JsonSerializer.Serialize(data, typeInfo), cancellationToken);

    private static (long PupilId, string TemplateId) ReadPlacement(JsonElement data)
    {
        if (!data.TryGetProperty("pupilId", out var pupil) || pupil.ValueKind != JsonValueKind.Number || !pupil.TryGetInt64(out long pupilId)
            || !data.TryGetProperty("templateId", out var template) || template.ValueKind != JsonValueKind.String)
            throw new ArgumentException("template.upsert data needs a numeric pupilId and a string templateId (docs/sync-protocol.md §5.1).", nameof(data));
        return (pupilId, template.GetString()!);
    }
}
