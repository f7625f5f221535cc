using System.Buffers.Binary;

namespace Kezekshi.Edge.Devices.Protocols.Osdp;

/// <summary>
/// Collects received bytes and cuts them into frames with <see cref="OsdpFrame.TryParse"/>, shared by the CP session
/// and the PD simulator. Frames returned by <see cref="Next"/> point into the buffer and stay valid until the next
/// <see cref="GetWriteMemory"/>, <see cref="Append"/> or <see cref="Clear"/>.
/// </summary>
internal sealed class OsdpFrameAssembler
{
    private readonly byte[] _buffer = new byte[OsdpFrame.MaxLength * 2];
    private int _start;
    private int _end;

    public int Buffered => _end - _start;

    public void Clear()
    {
        _start = 0;
        _end = 0;
    }

    /// <summary>Free space after compaction; always at least <see cref="OsdpFrame.MaxLength"/> bytes.</summary>
    public Memory<byte> GetWriteMemory()
    {
        Compact();
        return _buffer.AsMemory(_end);
    }

    public void Advance(int count) => _end += count;

    /// <summary>Copies as much of <paramref name="data"/> as fits; returns how many bytes were taken.</summary>
    public int Append(ReadOnlySpan<byte> data)
    {
        Compact();
        int n = Math.Min(data.Length, _buffer.Length - _end);
        data[..n].CopyTo(_buffer.AsSpan(_end));
        _end += n;
        return n;
    }

    /// <summary>The next frame or error; Incomplete when more bytes are needed.</summary>
    public OsdpParseResult Next(out OsdpFrame frame)
    {
        var result = OsdpFrame.TryParse(_buffer.AsSpan(_start, _end - _start), out frame, out int consumed);
        _start += consumed;
        return result;
    }

    /// <summary>How many more bytes the frame being received needs (a guess of a minimal reply when the header is not in yet).</summary>
    public int MissingBytes
    {
        get
        {
            var pending = _buffer.AsSpan(_start, _end - _start);
            if (pending.Length >= 4 && pending[0] == OsdpFrame.StartOfMessage)
            {
                int length = Math.Min((int)BinaryPrimitives.ReadUInt16LittleEndian(pending[2..]), OsdpFrame.MaxLength);
                return Math.Max(0, length - pending.Length);
            }
            return Math.Max(0, 8 - pending.Length);
        }
    }

    private void Compact()
    {
        if (_start == 0) return;
        int count = _end - _start;
        if (count > 0) _buffer.AsSpan(_start, count).CopyTo(_buffer);
        _start = 0;
        _end = count;
    }
}
