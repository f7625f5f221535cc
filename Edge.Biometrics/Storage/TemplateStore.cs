using System.Globalization;
using System.Security.Cryptography;
using Kezekshi.Edge.Biometrics.Audit;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Index;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Biometrics.Storage;

/// <summary>A template to store, with the photo it came from (kept only when configured).</summary>
public sealed record NewTemplate(long PupilId, BiometricModality Modality, string ModelId, float[] Vector, float Quality, RawImage? Photo = null);

/// <summary>What the start-up load hands to the index.</summary>
public sealed record StoreContents(IReadOnlyList<IndexedTemplate> Templates, IReadOnlyList<LookAlikePair> LookAlikes);

/// <summary>
/// Templates (and optionally enrolment photos) in biometrics.db, encrypted with AES-GCM. Every read
/// and change writes an audit row in the same transaction.
/// </summary>
public sealed class TemplateStore : IDisposable
{
    private readonly BiometricsDatabase _database;
    private readonly TemplateCipher _cipher;
    private readonly AuditLog _audit;
    private readonly TimeProvider _time;

    /// <param name="keepRawImages">Keep enrolment photos (encrypted). Off by default: only templates are needed to match.</param>
    public TemplateStore(BiometricsDatabase database, byte[] key, AuditLog audit, TimeProvider? time = null, bool keepRawImages = false)
    {
        _database = database;
        _cipher = new TemplateCipher(key);
        _audit = audit;
        _time = time ?? TimeProvider.System;
        KeepRawImages = keepRawImages;
    }

    public bool KeepRawImages { get; }

    internal BiometricsDatabase Database => _database;

    /// <summary>Stores templates in one transaction and returns them with their new ids, ready for the index.</summary>
    public IReadOnlyList<IndexedTemplate> Save(IReadOnlyList<NewTemplate> templates, string actor, string purpose = "enrolment")
    {
        ArgumentNullException.ThrowIfNull(templates);
        string now = Now();
        using var connection = _database.Connect();
        using var transaction = connection.BeginTransaction(deferred: false);
        var saved = new List<IndexedTemplate>(templates.Count);
        int photos = 0;
        foreach (var template in templates)
        {
            long id = Insert(connection, transaction, template, actor, now);
            if (KeepRawImages && template.Photo is { } photo)
            {
                SavePhoto(connection, transaction, template.PupilId, id, photo, now);
                photos++;
            }
            saved.Add(new IndexedTemplate(id, template.PupilId, template.Modality, template.ModelId, (float[])template.Vector.Clone()));
        }
        foreach (var pupil in saved.GroupBy(t => t.PupilId))
            _audit.Append(connection, transaction, new AuditEntry(actor, purpose, "enrol", Subject(pupil.Key),
                $"templates {string.Join(",", pupil.Select(t => t.TemplateId))}; model {pupil.First().ModelId}; photos kept {(KeepRawImages ? "yes" : "no")}"));
        transaction.Commit();
        return saved;
    }

    /// <summary>
    /// Stores a template received from another school (docs/sync-protocol.md §5.3), encrypted under this school's own
    /// at-rest key, and remembers its source id in the same transaction. Returns null when a template with that source id
    /// is already held (a change applied again after a crash), so receiving twice never doubles a template.
    /// </summary>
    public IndexedTemplate? SaveTransferred(NewTemplate template, string sourceId, string sourceSchool, string actor)
    {
        ArgumentNullException.ThrowIfNull(template);
        string now = Now();
        using var connection = _database.Connect();
        using var transaction = connection.BeginTransaction(deferred: false);
        using (var held = connection.CreateCommand())
        {
            held.Transaction = transaction;
            held.CommandText = "SELECT 1 FROM received_templates r JOIN templates t ON t.id = r.template_id WHERE r.source_id = $s";
            held.Parameters.AddWithValue("$s", sourceId);
            if (held.ExecuteScalar() is not null) return null;
        }
        long id = Insert(connection, transaction, template with { Photo = null }, actor, now);
        using (var remember = connection.CreateCommand())
        {
            remember.Transaction = transaction;
            remember.CommandText = """
                INSERT INTO received_templates (source_id, template_id, source_school, received_at) VALUES ($s, $t, $school, $now)
                ON CONFLICT (source_id) DO UPDATE SET template_id = excluded.template_id, source_school = excluded.source_school, received_at = excluded.received_at
                """;
            remember.Parameters.AddWithValue("$s", sourceId);
            remember.Parameters.AddWithValue("$t", id);
            remember.Parameters.AddWithValue("$school", sourceSchool);
            remember.Parameters.AddWithValue("$now", now);
            remember.ExecuteNonQuery();
        }
        _audit.Append(connection, transaction, new AuditEntry(actor, "transfer", "receive", Subject(template.PupilId),
            $"template {id} received from school {sourceSchool} as {sourceId}; model {template.ModelId}; re-encrypted under this school's key"));
        transaction.Commit();
        return new IndexedTemplate(id, template.PupilId, template.Modality, template.ModelId, (float[])template.Vector.Clone());
    }

    /// <summary>The local id and pupil of a template received under <paramref name="sourceId"/>, if it is still held.</summary>
    public (long TemplateId, long PupilId)? FindTransferred(string sourceId)
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT t.id, t.pupil_id FROM received_templates r JOIN templates t ON t.id = r.template_id WHERE r.source_id = $s";
        command.Parameters.AddWithValue("$s", sourceId);
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), reader.GetInt64(1)) : null;
    }

    private long Insert(SqliteConnection connection, SqliteTransaction transaction, NewTemplate template, string actor, string now)
    {
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO templates (pupil_id, modality, model_id, dimensions, nonce, ciphertext, tag, quality, enrolled_at, enrolled_by, last_used_at)
            VALUES ($pupil, $modality, $model, $dims, x'', x'', x'', $quality, $now, $actor, $now) RETURNING id
            """;
        insert.Parameters.AddWithValue("$pupil", template.PupilId);
        insert.Parameters.AddWithValue("$modality", (int)template.Modality);
        insert.Parameters.AddWithValue("$model", template.ModelId);
        insert.Parameters.AddWithValue("$dims", template.Vector.Length);
        insert.Parameters.AddWithValue("$quality", template.Quality);
        insert.Parameters.AddWithValue("$now", now);
        insert.Parameters.AddWithValue("$actor", actor);
        long id = Convert.ToInt64(insert.ExecuteScalar(), CultureInfo.InvariantCulture);
        // The id is part of the AAD, so encryption waits for it; the placeholder never commits.
        var (nonce, ciphertext, tag) = _cipher.EncryptTemplate(template.Vector, template.PupilId, id, template.ModelId);
        using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = "UPDATE templates SET nonce = $n, ciphertext = $c, tag = $t WHERE id = $id";
        update.Parameters.AddWithValue("$n", nonce);
        update.Parameters.AddWithValue("$c", ciphertext);
        update.Parameters.AddWithValue("$t", tag);
        update.Parameters.AddWithValue("$id", id);
        update.ExecuteNonQuery();
        return id;
    }

    /// <summary>Records look-alike pairs found by the index, so they survive a restart.</summary>
    public void SaveLookAlikes(IEnumerable<LookAlikePair> pairs, string modelId)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        using var connection = _database.Connect();
        using var transaction = connection.BeginTransaction(deferred: false);
        foreach (var pair in pairs.Select(p => p.Normalised()))
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO look_alikes (pupil_a, pupil_b, model_id, score) VALUES ($a, $b, $m, $s)
                ON CONFLICT (pupil_a, pupil_b, model_id) DO UPDATE SET score = max(score, excluded.score)
                """;
            command.Parameters.AddWithValue("$a", pair.PupilA);
            command.Parameters.AddWithValue("$b", pair.PupilB);
            command.Parameters.AddWithValue("$m", modelId);
            command.Parameters.AddWithValue("$s", pair.Score);
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    /// <summary>Reads and decrypts every template for the index (start-up); one audit row says so.</summary>
    public StoreContents LoadAll(string actor = "service")
    {
        using var connection = _database.Connect();
        using var transaction = connection.BeginTransaction(deferred: false);
        var templates = TemplateBulkReader.ReadAll(connection, _cipher);
        var pairs = new List<LookAlikePair>();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT pupil_a, pupil_b, score FROM look_alikes";
            using var reader = command.ExecuteReader();
            while (reader.Read())
                pairs.Add(new LookAlikePair(reader.GetInt64(0), reader.GetInt64(1), reader.GetFloat(2)));
        }
        _audit.Append(connection, transaction, new AuditEntry(actor, "index-load", "load", "all", $"{templates.Count} templates of {templates.Select(t => t.PupilId).Distinct().Count()} pupils decrypted into the in-memory index"));
        transaction.Commit();
        return new StoreContents(templates, pairs);
    }

    /// <summary>Reads one pupil's templates (export, re-check); audited with the reason given.</summary>
    public IReadOnlyList<IndexedTemplate> ReadPupil(long pupilId, string actor, string purpose)
    {
        using var connection = _database.Connect();
        using var transaction = connection.BeginTransaction(deferred: false);
        var templates = new List<IndexedTemplate>();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT id, modality, model_id, nonce, ciphertext, tag FROM templates WHERE pupil_id = $p ORDER BY id";
            command.Parameters.AddWithValue("$p", pupilId);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                long id = reader.GetInt64(0);
                string model = reader.GetString(2);
                templates.Add(new IndexedTemplate(id, pupilId, (BiometricModality)reader.GetInt32(1), model,
                    _cipher.DecryptTemplate((byte[])reader[3], (byte[])reader[4], (byte[])reader[5], pupilId, id, model)));
            }
        }
        _audit.Append(connection, transaction, new AuditEntry(actor, purpose, "read", Subject(pupilId), $"templates {string.Join(",", templates.Select(t => t.TemplateId))}"));
        transaction.Commit();
        return templates;
    }

    /// <summary>Reads a kept enrolment photo; audited.</summary>
    public IReadOnlyList<RawImage> ReadPhotos(long pupilId, string actor, string purpose)
    {
        using var connection = _database.Connect();
        using var transaction = connection.BeginTransaction(deferred: false);
        var photos = new List<RawImage>();
        var ids = new List<long>();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT id, width, height, channels, nonce, ciphertext, tag FROM photos WHERE pupil_id = $p ORDER BY id";
            command.Parameters.AddWithValue("$p", pupilId);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                long id = reader.GetInt64(0);
                var ciphertext = (byte[])reader[5];
                var pixels = new byte[ciphertext.Length];
                _cipher.Decrypt((byte[])reader[4], ciphertext, (byte[])reader[6], TemplateCipher.AssociatedData(pupilId, id, "", "photo"), pixels, $"Photo {id} of pupil {pupilId}");
                photos.Add(new RawImage(reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3), pixels));
                ids.Add(id);
            }
        }
        _audit.Append(connection, transaction, new AuditEntry(actor, purpose, "photo-read", Subject(pupilId), $"photos {string.Join(",", ids)}"));
        transaction.Commit();
        return photos;
    }

    /// <summary>Records that templates matched at <paramref name="at"/> (the unused-expiry clock restarts).</summary>
    public void MarkUsed(IEnumerable<long> templateIds, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(templateIds);
        using var connection = _database.Connect();
        using var transaction = connection.BeginTransaction();
        foreach (long id in templateIds)
            SetLastUsed(connection, transaction, id, at);
        transaction.Commit();
    }

    private static void SetLastUsed(SqliteConnection connection, SqliteTransaction transaction, long templateId, DateTimeOffset at)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE templates SET last_used_at = $at WHERE id = $id";
        command.Parameters.AddWithValue("$at", at.ToString("O", CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$id", templateId);
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Records one match that was acted on (a gate opened, a till identified the pupil): the template's
    /// unused-expiry clock restarts and the audit log gets who matched whom, where and for what purpose,
    /// in one transaction. Called once per decision, never per camera frame.
    /// </summary>
    public void RecordMatch(long templateId, long pupilId, string actor, BiometricPurpose purpose, float score)
    {
        using var connection = _database.Connect();
        using var transaction = connection.BeginTransaction(deferred: false);
        SetLastUsed(connection, transaction, templateId, _time.GetUtcNow());
        _audit.Append(connection, transaction, new AuditEntry(actor, PurposeNames.Of(purpose), "match", Subject(pupilId),
            string.Create(CultureInfo.InvariantCulture, $"template {templateId} score {score:0.000}")));
        transaction.Commit();
    }

    /// <summary>Templates not used since <paramref name="cutoff"/>, per pupil.</summary>
    public IReadOnlyDictionary<long, long[]> UnusedSince(DateTimeOffset cutoff)
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT pupil_id, id FROM templates WHERE last_used_at < $cutoff ORDER BY pupil_id, id";
        command.Parameters.AddWithValue("$cutoff", cutoff.ToString("O", CultureInfo.InvariantCulture));
        using var reader = command.ExecuteReader();
        var result = new Dictionary<long, List<long>>();
        while (reader.Read())
        {
            long pupil = reader.GetInt64(0);
            if (!result.TryGetValue(pupil, out var list))
                result[pupil] = list = [];
            list.Add(reader.GetInt64(1));
        }
        return result.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
    }

    /// <summary>Pupils that have at least one stored template.</summary>
    public IReadOnlyList<long> PupilsWithTemplates()
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT pupil_id FROM templates ORDER BY pupil_id";
        using var reader = command.ExecuteReader();
        var pupils = new List<long>();
        while (reader.Read())
            pupils.Add(reader.GetInt64(0));
        return pupils;
    }

    /// <summary>How many templates are stored (for one pupil, or all).</summary>
    public int Count(long? pupilId = null)
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = pupilId is null ? "SELECT COUNT(*) FROM templates" : "SELECT COUNT(*) FROM templates WHERE pupil_id = $p";
        if (pupilId is not null)
            command.Parameters.AddWithValue("$p", pupilId.Value);
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Deletes a pupil's templates (all, or the given ids) and photos inside the caller's transaction,
    /// and writes the receipt, the outgoing event and the audit row there too. secure_delete zeroes the
    /// freed pages, so the ciphertext does not linger in the file.
    /// </summary>
    internal DeletionReceipt Delete(SqliteConnection connection, SqliteTransaction transaction, long pupilId, IReadOnlyCollection<long>? templateIds, string reason, string actor)
    {
        var now = _time.GetUtcNow();
        string filter = templateIds is null ? "" : $" AND id IN ({string.Join(",", templateIds.Select(id => id.ToString(CultureInfo.InvariantCulture)))})";
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var deletedTemplates = new List<long>();
        using (var select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = $"SELECT id, ciphertext FROM templates WHERE pupil_id = $p{filter} ORDER BY id";
            select.Parameters.AddWithValue("$p", pupilId);
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                deletedTemplates.Add(reader.GetInt64(0));
                hash.AppendData(BitConverter.GetBytes(reader.GetInt64(0)));
                hash.AppendData((byte[])reader[1]);
            }
        }
        int photos;
        using (var deletePhotos = connection.CreateCommand())
        {
            deletePhotos.Transaction = transaction;
            deletePhotos.CommandText = templateIds is null
                ? "DELETE FROM photos WHERE pupil_id = $p"
                : $"DELETE FROM photos WHERE pupil_id = $p AND template_id IN ({string.Join(",", deletedTemplates.Select(id => id.ToString(CultureInfo.InvariantCulture)))})";
            deletePhotos.Parameters.AddWithValue("$p", pupilId);
            photos = deletePhotos.ExecuteNonQuery();
        }
        using (var delete = connection.CreateCommand())
        {
            delete.Transaction = transaction;
            delete.CommandText = $"DELETE FROM templates WHERE pupil_id = $p{filter}";
            delete.Parameters.AddWithValue("$p", pupilId);
            delete.ExecuteNonQuery();
        }
        if (templateIds is null)
        {
            using var deletePairs = connection.CreateCommand();
            deletePairs.Transaction = transaction;
            deletePairs.CommandText = "DELETE FROM look_alikes WHERE pupil_a = $p OR pupil_b = $p";
            deletePairs.Parameters.AddWithValue("$p", pupilId);
            deletePairs.ExecuteNonQuery();
        }
        string what = $"{deletedTemplates.Count} templates ({string.Join(",", deletedTemplates)}) and {photos} photos";
        string sha = Convert.ToHexStringLower(hash.GetHashAndReset());
        long receiptId;
        using (var receipt = connection.CreateCommand())
        {
            receipt.Transaction = transaction;
            receipt.CommandText = "INSERT INTO deletion_receipts (pupil_id, what, reason, deleted_at, deleted_by, sha256) VALUES ($p, $what, $reason, $at, $by, $sha) RETURNING id";
            receipt.Parameters.AddWithValue("$p", pupilId);
            receipt.Parameters.AddWithValue("$what", what);
            receipt.Parameters.AddWithValue("$reason", reason);
            receipt.Parameters.AddWithValue("$at", now.ToString("O", CultureInfo.InvariantCulture));
            receipt.Parameters.AddWithValue("$by", actor);
            receipt.Parameters.AddWithValue("$sha", sha);
            receiptId = Convert.ToInt64(receipt.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        OutgoingEvents.Enqueue(connection, transaction, new BiometricDataDeleted(1, pupilId, reason, now, actor, receiptId, sha, deletedTemplates.Count, photos));
        _audit.Append(connection, transaction, new AuditEntry(actor, reason, "delete", Subject(pupilId), $"{what}; receipt {receiptId}"));
        return new DeletionReceipt(receiptId, pupilId, what, reason, now, actor, sha);
    }

    /// <summary>Every deletion receipt of a pupil, oldest first.</summary>
    public IReadOnlyList<DeletionReceipt> Receipts(long pupilId)
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, what, reason, deleted_at, deleted_by, sha256 FROM deletion_receipts WHERE pupil_id = $p ORDER BY id";
        command.Parameters.AddWithValue("$p", pupilId);
        using var reader = command.ExecuteReader();
        var receipts = new List<DeletionReceipt>();
        while (reader.Read())
            receipts.Add(new DeletionReceipt(reader.GetInt64(0), pupilId, reader.GetString(1), reader.GetString(2), DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture), reader.GetString(4), reader.GetString(5)));
        return receipts;
    }

    public void Dispose() => _cipher.Dispose();

    private void SavePhoto(SqliteConnection connection, SqliteTransaction transaction, long pupilId, long templateId, RawImage photo, string now)
    {
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO photos (pupil_id, template_id, width, height, channels, nonce, ciphertext, tag, kept_at) VALUES ($p, $t, $w, $h, $c, x'', x'', x'', $now) RETURNING id";
        insert.Parameters.AddWithValue("$p", pupilId);
        insert.Parameters.AddWithValue("$t", templateId);
        insert.Parameters.AddWithValue("$w", photo.Width);
        insert.Parameters.AddWithValue("$h", photo.Height);
        insert.Parameters.AddWithValue("$c", photo.Channels);
        insert.Parameters.AddWithValue("$now", now);
        long id = Convert.ToInt64(insert.ExecuteScalar(), CultureInfo.InvariantCulture);
        var (nonce, ciphertext, tag) = _cipher.Encrypt(photo.Pixels, TemplateCipher.AssociatedData(pupilId, id, "", "photo"));
        using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = "UPDATE photos SET nonce = $n, ciphertext = $c, tag = $t WHERE id = $id";
        update.Parameters.AddWithValue("$n", nonce);
        update.Parameters.AddWithValue("$c", ciphertext);
        update.Parameters.AddWithValue("$t", tag);
        update.Parameters.AddWithValue("$id", id);
        update.ExecuteNonQuery();
        _audit.Append(connection, transaction, new AuditEntry("service", "enrolment", "photo-keep", Subject(pupilId), $"photo {id} for template {templateId} (Biometrics:KeepRawImages is on)"));
    }

    private string Now() => _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);

    private static string Subject(long pupilId) => string.Create(CultureInfo.InvariantCulture, $"pupil:{pupilId}");
}
