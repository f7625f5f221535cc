using System.Text.Json;
using System.Text.Json.Serialization;
using Kezekshi.Server.Sync.Domain;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Kezekshi.Server.Sync.Ingest;

/// <summary>
/// The centre's relay of a transfer answer (docs/sync-protocol.md §5.3): a source school's <c>template.export</c> event
/// closes its transfer and, when it carries sealed templates that match the request, puts each on the target school's
/// feed as <c>template.upsert</c> (which records the placement, so a later revocation reaches the target too). Runs in
/// the ingest transaction that stores the event, only for events stored now, so an answer is relayed exactly once.
/// </summary>
/// <remarks>
/// The ciphertext is passed through as received; the centre cannot open it and checks only what it can see: the answer
/// comes from the transfer's source school (the school level of the topic is bound to its certificate), and every
/// template is for the requested pupil, sealed for the target school and the key the request named. Anything else
/// closes the transfer as <c>refused</c> with the reason and relays nothing.
/// </remarks>
internal static partial class TemplateExportProjection
{
    public const string EventType = "template.export";

    public static async Task ProjectAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string school, string payloadJson, ILogger logger,
        CancellationToken ct)
    {
        ExportEvent? answer;
        try
        {
            answer = JsonSerializer.Deserialize(payloadJson, ExportJsonContext.Default.ExportEvent);
        }
        catch (JsonException e)
        {
            Log.Unreadable(logger, school, e.Message);
            return;
        }
        if (answer?.TransferId is not { Length: > 0 } transferId)
        {
            Log.Unreadable(logger, school, "no transferId");
            return;
        }
        var transfer = await TemplateTransfers.ReadAsync(connection, transaction, transferId, ct, forUpdate: true).ConfigureAwait(false);
        if (transfer is null || transfer.From != school)
        {
            // Never let one school's event touch a transfer it was not asked for.
            Log.NotAsked(logger, school, transferId);
            return;
        }
        if (transfer.Status != "requested") return;

        string? refused = answer.Refused is { Length: > 0 } r ? $"refused by {school}: {r}" : Mismatch(answer, transfer);
        if (refused is not null)
        {
            await CloseAsync(connection, transaction, transferId, "refused", 0, refused, ct).ConfigureAwait(false);
            Log.Refused(logger, transferId, transfer.PupilId, school, transfer.To, refused);
            return;
        }
        foreach (var t in answer.Templates!.OfType<ExportedTemplate>())
        {
            var data = new TemplateData(t.TemplateId!, t.PupilId, t.Modality!, t.Model!, t.Quality, t.SourceSchool!, t.TargetSchool!, t.KeyId!, t.Alg!,
                t.Epk!, t.Nonce!, t.Ciphertext!, t.Tag!, transferId);
            await ChangeFeed.AppendAsync(connection, transaction, transfer.To, ChangeKinds.TemplateUpsert, 1,
                JsonSerializer.Serialize(data, DownlinkJsonContext.Default.TemplateData), ct).ConfigureAwait(false);
        }
        int count = answer.Templates!.Count;
        await CloseAsync(connection, transaction, transferId, "delivered", count, count == 0 ? $"school {school} holds no templates of pupil {transfer.PupilId}" : null, ct)
            .ConfigureAwait(false);
        Log.Relayed(logger, transferId, count, transfer.PupilId, school, transfer.To);
    }

    /// <summary>Why the answer does not fit the request, or null.</summary>
    private static string? Mismatch(ExportEvent answer, TransferView transfer)
    {
        if (answer.PupilId != transfer.PupilId) return $"the answer is for pupil {answer.PupilId}, the request for {transfer.PupilId}";
        if (answer.Templates is null) return "the answer has no templates list";
        if (answer.Templates.Count > 40) return $"the answer holds {answer.Templates.Count} templates (at most 40)";
        foreach (var t in answer.Templates)
        {
            if (t is null) return "a template is null";
            if (t.PupilId != transfer.PupilId) return $"template {t.TemplateId} is for pupil {t.PupilId}";
            if (t.TargetSchool != transfer.To || t.KeyId != transfer.TargetKeyId)
                return $"template {t.TemplateId} is sealed for {t.TargetSchool} key {t.KeyId}, the request named {transfer.To} key {transfer.TargetKeyId}";
            if (t.SourceSchool != transfer.From || t.TemplateId is null || !t.TemplateId.StartsWith(transfer.From + ".", StringComparison.Ordinal) || t.TemplateId.Length > 64)
                return $"template {t.TemplateId} does not name {transfer.From} as its source";
            if (t.Alg != TemplateTransfers.SealAlgorithm) return $"template {t.TemplateId} uses alg {t.Alg}";
            if (t.Modality is not ("face" or "palm") || string.IsNullOrEmpty(t.Model) || t.Model.Length > 64) return $"template {t.TemplateId} has no valid modality and model";
            if (!Base64(t.Epk, 400) || !Base64(t.Nonce, 64) || !Base64(t.Ciphertext, 64 * 1024) || !Base64(t.Tag, 64))
                return $"template {t.TemplateId} has a missing or non-base64 epk, nonce, ciphertext or tag";
        }
        return null;
    }

    private static bool Base64(string? value, int max)
    {
        if (string.IsNullOrEmpty(value) || value.Length > max) return false;
        return Convert.TryFromBase64String(value, new byte[value.Length], out _);
    }

    private static async Task CloseAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string transferId, string status, int templates, string? detail,
        CancellationToken ct)
    {
        await using var update = new NpgsqlCommand(
            "UPDATE template_transfers SET status = $2, templates = $3, detail = $4, answered_at = now() WHERE id = $1", connection, transaction);
        update.Parameters.Add(new NpgsqlParameter { Value = transferId });
        update.Parameters.Add(new NpgsqlParameter { Value = status });
        update.Parameters.Add(new NpgsqlParameter { Value = templates });
        update.Parameters.Add(new NpgsqlParameter { Value = detail is null ? DBNull.Value : detail.Length <= 1000 ? detail : detail[..1000], NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    internal sealed record ExportEvent(int SchemaVersion, string? TransferId, long PupilId, string? SourceSchool, string? TargetSchool, string? TargetKeyId,
        List<ExportedTemplate?>? Templates, string? Refused);

    internal sealed record ExportedTemplate(string? TemplateId, long PupilId, string? Modality, string? Model, float Quality, string? SourceSchool, string? TargetSchool,
        string? KeyId, string? Alg, string? Epk, string? Nonce, string? Ciphertext, string? Tag);

    [JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, MaxDepth = 16)]
    [JsonSerializable(typeof(ExportEvent))]
    internal sealed partial class ExportJsonContext : JsonSerializerContext;

    private static partial class Log
    {
        [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "Template transfer {TransferId}: {Count} sealed templates of pupil {PupilId} relayed from {From} to {To}.")]
        public static partial void Relayed(ILogger logger, string transferId, int count, long pupilId, string from, string to);

        [LoggerMessage(EventId = 4202, Level = LogLevel.Warning, Message = "Template transfer {TransferId} of pupil {PupilId} from {From} to {To} was refused: {Reason}. Fix the cause (usually a consent at the source school) and request the transfer again.")]
        public static partial void Refused(ILogger logger, string transferId, long pupilId, string from, string to, string reason);

        [LoggerMessage(EventId = 4203, Level = LogLevel.Warning, Message = "School {School} answered template transfer {TransferId}, which it was not asked for; ignored. Check that school's agent.")]
        public static partial void NotAsked(ILogger logger, string school, string transferId);

        [LoggerMessage(EventId = 4204, Level = LogLevel.Warning, Message = "A template.export event from {School} cannot be read ({Problem}); ignored (the event is stored). Check that school's agent version.")]
        public static partial void Unreadable(ILogger logger, string school, string problem);
    }
}
