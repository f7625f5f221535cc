using System.Security.Cryptography;
using Kezekshi.Server.Sync.Store;
using Npgsql;

namespace Kezekshi.Server.Sync.Domain;

/// <summary>
/// Moving a pupil's templates from one school to another without the centre being able to read them
/// (docs/sync-protocol.md §5.3): the centre asks the source school to seal them for the target school's public key
/// (<c>template.export.request</c>), receives the sealed templates in the source's uplink (<c>template.export</c>, see
/// <c>Ingest/TemplateExportProjection</c>) and puts them on the target's feed (<c>template.upsert</c>).
/// </summary>
/// <remarks>
/// The centre holds schools' public keys only, never a private key or a data key; it checks the public key is a P-256
/// key whose id matches, so a school cannot be handed garbage to seal for. Consent is enforced by both schools, each
/// under its own records (consent follows the pupil record, not the template): the source refuses to export without
/// access consent, the target refuses to store without it; a refusal comes back to the transfer's <c>detail</c> or the
/// target's downlink rejections.
/// </remarks>
public sealed class TemplateTransfers(CentreDatabase database)
{
    /// <summary>The only sealing schools use (docs/sync-protocol.md §5.3).</summary>
    public const string SealAlgorithm = "ECDH-ES-P256+HKDF-SHA256+A256GCM";

    private const string Columns = "id, pupil, from_school, to_school, target_key_id, status, templates, detail, operator, requested_at, answered_at, request_version";

    /// <summary>
    /// Requests a transfer: checks the pupil and both schools, takes the target's current public key, sends the pupil's
    /// active consents to the target and queues <c>template.export.request</c> to the source school, in one transaction.
    /// Request it before moving the pupil: the source's feed then answers the request before the move's
    /// <c>pupil.leave</c> deletes the templates there.
    /// </summary>
    public Task<TransferView> RequestAsync(long pupilId, TransferRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string from = Check.School(request.From, "from");
        string to = Check.School(request.To, "to");
        if (from == to) throw CentreRequestException.Invalid("to", $"from and to are both {from}: a transfer moves templates to another school.");
        string operatorName = Check.Text(request.Operator, "operator", 100);
        string transferId = "tr-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        return database.InTransactionAsync("requesting a template transfer in", async (connection, transaction, ct) =>
        {
            var pupil = await Roster.RequirePupilAsync(connection, transaction, pupilId, ct).ConfigureAwait(false);
            if (pupil.Status == "left")
                throw new CentreRequestException(RequestProblem.Conflict, "pupilId", $"Pupil {pupilId} has left; their templates are deleted, not moved.");
            await Roster.RequireSchoolAsync(connection, transaction, from, ct).ConfigureAwait(false);
            await Roster.RequireSchoolAsync(connection, transaction, to, ct).ConfigureAwait(false);
            var key = await Sql.FirstAsync(Sql.Command(connection, transaction,
                "SELECT template_key_id, template_public_key FROM schools WHERE id = $1 AND template_key_id IS NOT NULL", to),
                r => new SchoolKey(r.GetString(0), r.GetFieldValue<byte[]>(1)), ct).ConfigureAwait(false)
                ?? throw CentreRequestException.Conflict("to", $"School {to} has not sent a template key yet: enable biometrics on its gate PC (Biometrics:Enabled with the DPIA recorded) and let it connect once; its hello carries the key.");
            // Consent follows the pupil record: the consents the centre holds for the pupil go to the target ahead of the
            // templates (its feed applies in version order), and a later revocation reaches it through the placements.
            var active = await Sql.ListAsync(Sql.Command(connection, transaction, """
                SELECT id, purposes, expires_at FROM consents
                WHERE pupil = $1 AND status = 'granted' AND (expires_at IS NULL OR expires_at > now()) ORDER BY id
                """, pupilId), r => new ConsentGrantData(r.GetString(0), pupilId, r.GetFieldValue<string[]>(1), r.OptionalTime(2)), ct).ConfigureAwait(false);
            foreach (var consent in active)
                await ChangeFeed.AppendAsync(connection, transaction, to, ChangeKinds.ConsentGrant, consent, DownlinkJsonContext.Default.ConsentGrantData, ct).ConfigureAwait(false);
            long version = await ChangeFeed.AppendAsync(connection, transaction, from, ChangeKinds.TemplateExportRequest,
                new TemplateExportRequestData(transferId, pupilId, to, key.KeyId, Convert.ToBase64String(key.PublicKey)),
                DownlinkJsonContext.Default.TemplateExportRequestData, ct).ConfigureAwait(false);
            await using (var insert = Sql.Command(connection, transaction, """
                INSERT INTO template_transfers(id, pupil, from_school, to_school, target_key_id, status, operator, request_version)
                VALUES ($1, $2, $3, $4, $5, 'requested', $6, $7)
                """, transferId, pupilId, from, to, key.KeyId, operatorName, version))
                await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return (await ReadAsync(connection, transaction, transferId, ct).ConfigureAwait(false))!;
        }, cancellationToken);
    }

    /// <summary>A transfer; 404 when unknown.</summary>
    public Task<TransferView> GetAsync(string? transferId, CancellationToken cancellationToken)
    {
        string id = Check.Id(transferId, "transferId");
        return database.RunAsync("reading a template transfer from", async (connection, ct) =>
            await ReadAsync(connection, null, id, ct).ConfigureAwait(false)
            ?? throw CentreRequestException.NotFound($"No template transfer {id} at the centre: GET /api/pupils/{{pupilId}}/transfers lists a pupil's transfers."),
            cancellationToken);
    }

    /// <summary>The transfers of a pupil, newest first.</summary>
    public Task<List<TransferView>> ListAsync(long pupilId, CancellationToken cancellationToken) =>
        database.RunAsync("listing template transfers in", async (connection, ct) =>
        {
            await Roster.RequirePupilAsync(connection, null, pupilId, ct).ConfigureAwait(false);
            return await Sql.ListAsync(Sql.Command(connection, null, $"SELECT {Columns} FROM template_transfers WHERE pupil = $1 ORDER BY requested_at DESC, id", pupilId),
                Read, ct).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>The key id of a public key (DER SubjectPublicKeyInfo): <c>k-</c> and 16 hex digits of its SHA-256, as the schools compute it.</summary>
    public static string KeyIdOf(ReadOnlySpan<byte> publicKey) => "k-" + Convert.ToHexStringLower(SHA256.HashData(publicKey))[..16];

    /// <summary>Why <paramref name="publicKey"/> is not a P-256 SubjectPublicKeyInfo, or null when it is.</summary>
    public static string? ProblemWithPublicKey(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length is 0 or > 512) return "empty or longer than 512 bytes";
        try
        {
            using var key = ECDiffieHellman.Create();
            key.ImportSubjectPublicKeyInfo(publicKey, out int read);
            if (read != publicKey.Length) return "trailing bytes after the key";
            return key.ExportParameters(false).Curve.Oid.Value == ECCurve.NamedCurves.nistP256.Oid.Value ? null : "not a P-256 key";
        }
        catch (CryptographicException e)
        {
            return $"not an EC public key ({e.Message})";
        }
    }

    internal static Task<TransferView?> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string id, CancellationToken ct, bool forUpdate = false) =>
        Sql.FirstAsync(Sql.Command(connection, transaction, $"SELECT {Columns} FROM template_transfers WHERE id = $1" + (forUpdate ? " FOR UPDATE" : ""), id), Read, ct);

    private static TransferView Read(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetInt32(6), r.OptionalString(7), r.GetString(8),
            r.GetFieldValue<DateTimeOffset>(9), r.OptionalTime(10), r.GetInt64(11));

    private sealed record SchoolKey(string KeyId, byte[] PublicKey);
}
