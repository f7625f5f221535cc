using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Npgsql;

namespace Kezekshi.Server.Sync.Store;

/// <summary>
/// Rows in PostgreSQL's binary COPY format (header, tuples, trailer; "COPY ... Binary Format" in the PostgreSQL manual),
/// built in one pooled buffer and sent through <see cref="NpgsqlConnection.BeginRawBinaryCopyAsync"/>.
/// </summary>
/// <remarks>
/// The ingest's hot path: an event's JSON payload goes from the received message into the <c>jsonb</c> column as the
/// bytes it arrived as, with no string in between, and a field costs a length and a copy. Writing the same rows field by
/// field through <c>NpgsqlBinaryImporter</c> bound a converter per field; that was a tenth of the centre's CPU per event
/// in the catch-up profile. Only the types the ingest writes are here.
/// </remarks>
internal sealed class BinaryCopyRows : IDisposable
{
    private static readonly byte[] s_signature = [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xFF, (byte)'\r', (byte)'\n', 0];
    private static readonly long s_postgresEpochTicks = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    private byte[] _buffer;
    private int _length;

    public BinaryCopyRows(int capacity = 64 * 1024)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(capacity);
        Write(s_signature);
        WriteInt32(0); // flags: no OIDs
        WriteInt32(0); // header extension length
    }

    /// <summary>Rows written so far.</summary>
    public int Rows { get; private set; }

    /// <summary>Starts a row of <paramref name="fields"/> fields; exactly that many field writes follow.</summary>
    public void StartRow(short fields)
    {
        Ensure(2);
        BinaryPrimitives.WriteInt16BigEndian(_buffer.AsSpan(_length), fields);
        _length += 2;
        Rows++;
    }

    public void Null() => WriteInt32(-1);

    public void Text(string value)
    {
        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        Ensure(4 + max);
        int written = Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_length + 4));
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_length), written);
        _length += 4 + written;
    }

    public void TextOrNull(string? value)
    {
        if (value is null) Null();
        else Text(value);
    }

    /// <summary>A <c>jsonb</c> field from JSON text in UTF-8 (binary format: version byte 1, then the text).</summary>
    public void Jsonb(ReadOnlySpan<byte> utf8Json)
    {
        Ensure(5 + utf8Json.Length);
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_length), utf8Json.Length + 1);
        _buffer[_length + 4] = 1;
        utf8Json.CopyTo(_buffer.AsSpan(_length + 5));
        _length += 5 + utf8Json.Length;
    }

    public void Uuid(Guid value)
    {
        Ensure(20);
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_length), 16);
        value.TryWriteBytes(_buffer.AsSpan(_length + 4, 16), bigEndian: true, out _);
        _length += 20;
    }

    public void Int8(long value)
    {
        Ensure(12);
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_length), 8);
        BinaryPrimitives.WriteInt64BigEndian(_buffer.AsSpan(_length + 4), value);
        _length += 12;
    }

    public void Int8OrNull(long? value)
    {
        if (value is { } v) Int8(v);
        else Null();
    }

    public void Int4(int value)
    {
        Ensure(8);
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_length), 4);
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_length + 4), value);
        _length += 8;
    }

    /// <summary>A <c>timestamptz</c>: microseconds since 2000-01-01 UTC.</summary>
    public void TimestampTz(DateTime utc)
    {
        if (utc.Kind != DateTimeKind.Utc) throw new ArgumentException("a timestamptz is written from a UTC DateTime", nameof(utc));
        Int8((utc.Ticks - s_postgresEpochTicks) / TimeSpan.TicksPerMicrosecond);
    }

    public void TimestampTzOrNull(DateTime? utc)
    {
        if (utc is { } v) TimestampTz(v);
        else Null();
    }

    /// <summary>Runs <paramref name="copyCommand"/> (<c>COPY table(columns) FROM STDIN (FORMAT BINARY)</c>) with these rows and the trailer.</summary>
    /// <exception cref="PostgresException">PostgreSQL refused a row (e.g. a unique violation); nothing of this COPY is stored.</exception>
    public async Task CopyAsync(NpgsqlConnection connection, string copyCommand, CancellationToken cancellationToken)
    {
        Ensure(2);
        BinaryPrimitives.WriteInt16BigEndian(_buffer.AsSpan(_length), -1);
        _length += 2;
        var stream = await connection.BeginRawBinaryCopyAsync(copyCommand, cancellationToken).ConfigureAwait(false);
        try
        {
            await stream.WriteAsync(_buffer.AsMemory(0, _length), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Never let disposal end a half-sent COPY as if it were complete.
            await stream.CancelAsync().ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        await stream.DisposeAsync().ConfigureAwait(false); // ends the COPY; PostgreSQL's verdict (e.g. a unique violation) is thrown here
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    private void WriteInt32(int value)
    {
        Ensure(4);
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_length), value);
        _length += 4;
    }

    private void Ensure(int more)
    {
        if (_length + more <= _buffer.Length) return;
        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + more));
        _buffer.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
