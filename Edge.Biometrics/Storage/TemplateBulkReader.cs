using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Text;
using Kezekshi.Edge.Biometrics.Index;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Kezekshi.Edge.Biometrics.Storage;

/// <summary>
/// Reads and decrypts every template for the start-up load. 50,000 templates at 1024-D are 205 MB
/// of ciphertext, and the gate waits for the index before it can match faces, so this thread only
/// reads (straight from SQLite's buffers, no per-row copies) while the other cores decrypt, each
/// with its own AES-GCM instance.
/// </summary>
internal static class TemplateBulkReader
{
    private const int RowsPerChunk = 256;

    /// <summary>The templates in id order. Throws <see cref="BiometricsStoreException"/> (with the template named) if any fails to decrypt.</summary>
    public static List<IndexedTemplate> ReadAll(SqliteConnection connection, TemplateCipher cipher)
    {
        ArgumentNullException.ThrowIfNull(connection);
        int workers = Math.Clamp(Environment.ProcessorCount - 1, 1, 8);
        using var queue = new BlockingCollection<Chunk>(boundedCapacity: workers * 4);
        var chunks = new List<Chunk>();
        ExceptionDispatchInfo? failure = null;
        var decryptors = new Thread[workers];
        for (int w = 0; w < workers; w++)
        {
            decryptors[w] = new Thread(() =>
            {
                using var own = cipher.CreateWorker();
                try
                {
                    foreach (var chunk in queue.GetConsumingEnumerable())
                        chunk.Decrypt(own);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
                    // Drain so the reader never blocks on a full queue after a failure.
                    foreach (var _ in queue.GetConsumingEnumerable()) { }
                }
            })
            { IsBackground = true, Name = "template-decrypt" };
            decryptors[w].Start();
        }

        try
        {
            Read(connection, chunks, queue, () => Volatile.Read(ref failure) is not null);
        }
        finally
        {
            queue.CompleteAdding();
            foreach (var thread in decryptors)
                thread.Join();
        }
        failure?.Throw();

        var templates = new List<IndexedTemplate>(chunks.Sum(c => c.Count));
        foreach (var chunk in chunks)
            templates.AddRange(chunk.Results.AsSpan(0, chunk.Count));
        return templates;
    }

    private static void Read(SqliteConnection connection, List<Chunk> chunks, BlockingCollection<Chunk> queue, Func<bool> failed)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("The biometrics database connection is not open.");
        // The ORM-free path: Microsoft.Data.Sqlite would copy every blob into a new array first.
        Check(db, raw.sqlite3_prepare_v2(db, "SELECT id, pupil_id, modality, model_id, nonce, ciphertext, tag FROM templates ORDER BY id", out sqlite3_stmt statement));
        using (statement)
        {
            var models = new List<(byte[] Utf8, string Name)>();
            var chunk = new Chunk();
            int rc;
            while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
            {
                if (chunk.Count == RowsPerChunk)
                {
                    if (failed())
                        return;
                    chunks.Add(chunk);
                    queue.Add(chunk);
                    chunk = new Chunk();
                }
                chunk.Add(raw.sqlite3_column_int64(statement, 0), raw.sqlite3_column_int64(statement, 1),
                    (BiometricModality)raw.sqlite3_column_int(statement, 2), ModelName(models, raw.sqlite3_column_blob(statement, 3)),
                    raw.sqlite3_column_blob(statement, 4), raw.sqlite3_column_blob(statement, 5), raw.sqlite3_column_blob(statement, 6));
            }
            Check(db, rc == raw.SQLITE_DONE ? raw.SQLITE_OK : rc);
            if (chunk.Count > 0)
            {
                chunks.Add(chunk);
                queue.Add(chunk);
            }
        }
    }

    /// <summary>One string per model id, not one per row.</summary>
    private static string ModelName(List<(byte[] Utf8, string Name)> models, ReadOnlySpan<byte> utf8)
    {
        foreach (var (bytes, name) in models)
            if (utf8.SequenceEqual(bytes))
                return name;
        string model = Encoding.UTF8.GetString(utf8);
        models.Add((utf8.ToArray(), model));
        return model;
    }

    private static void Check(sqlite3 db, int rc)
    {
        if (rc != raw.SQLITE_OK)
            throw new BiometricsStoreException($"Reading the templates from biometrics.db failed: {raw.sqlite3_errmsg(db).utf8_to_string()} (SQLite code {rc}). Run `kezekshi doctor`; if the file is damaged, restore it from a backup or re-enrol.");
    }

    /// <summary>Up to <see cref="RowsPerChunk"/> encrypted rows copied into one buffer, and their decrypted templates.</summary>
    private sealed class Chunk
    {
        private readonly long[] _ids = new long[RowsPerChunk];
        private readonly long[] _pupils = new long[RowsPerChunk];
        private readonly BiometricModality[] _modalities = new BiometricModality[RowsPerChunk];
        private readonly string[] _models = new string[RowsPerChunk];
        private readonly int[] _nonceAt = new int[RowsPerChunk + 1];
        private readonly int[] _ciphertextAt = new int[RowsPerChunk + 1];
        private readonly int[] _tagAt = new int[RowsPerChunk + 1];
        // Pooled: a fresh ~1 MB buffer per chunk would land on the large-object heap and make the
        // GC run full collections over the growing set of decrypted templates again and again.
        private byte[] _bytes = ArrayPool<byte>.Shared.Rent(RowsPerChunk * (4096 + 64));
        private int _used;

        public int Count { get; private set; }
        public IndexedTemplate[] Results { get; } = new IndexedTemplate[RowsPerChunk];

        public void Add(long id, long pupil, BiometricModality modality, string model, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag)
        {
            int i = Count++;
            _ids[i] = id;
            _pupils[i] = pupil;
            _modalities[i] = modality;
            _models[i] = model;
            _nonceAt[i] = Append(nonce);
            _ciphertextAt[i] = Append(ciphertext);
            _tagAt[i] = Append(tag);
            _nonceAt[i + 1] = _used;
        }

        private int Append(ReadOnlySpan<byte> bytes)
        {
            if (_used + bytes.Length > _bytes.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_bytes.Length * 2, _used + bytes.Length));
                _bytes.AsSpan(0, _used).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_bytes);
                _bytes = larger;
            }
            int at = _used;
            bytes.CopyTo(_bytes.AsSpan(at));
            _used += bytes.Length;
            return at;
        }

        public void Decrypt(TemplateCipher cipher)
        {
            for (int i = 0; i < Count; i++)
            {
                var nonce = _bytes.AsSpan(_nonceAt[i], _ciphertextAt[i] - _nonceAt[i]);
                var ciphertext = _bytes.AsSpan(_ciphertextAt[i], _tagAt[i] - _ciphertextAt[i]);
                var tag = _bytes.AsSpan(_tagAt[i], _nonceAt[i + 1] - _tagAt[i]);
                // Pinned heap: these vectors live until the index is built, so the GC should not copy
                // 205 MB through its generations on the way.
                var vector = GC.AllocateUninitializedArray<float>(TemplateCipher.Dimensions(ciphertext.Length, _pupils[i], _ids[i]), pinned: true);
                cipher.DecryptTemplate(nonce, ciphertext, tag, _pupils[i], _ids[i], _models[i], vector);
                Results[i] = new IndexedTemplate(_ids[i], _pupils[i], _modalities[i], _models[i], vector);
            }
            // The ciphertext copy is no longer needed.
            ArrayPool<byte>.Shared.Return(_bytes);
            _bytes = [];
        }
    }
}
