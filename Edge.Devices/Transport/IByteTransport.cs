namespace Kezekshi.Edge.Devices.Transport;

/// <summary>
/// A byte stream to a device: a serial port, an RS-485 adapter, one end of a pseudo-terminal
/// or an in-memory loopback. Codecs and sessions sit on top of it and never see port names.
/// </summary>
/// <remarks>
/// Timeouts are enforced here, inside the transport (CONVENTIONS.md): a read that sees no byte
/// within its timeout returns 0 instead of throwing, so callers never infer a timeout from an
/// exception type. I/O failures throw <see cref="TransportException"/>; after one the transport
/// is <see cref="IsBroken"/> and must be reopened.
/// </remarks>
public interface IByteTransport : IAsyncDisposable
{
    /// <summary>What IT would recognise: the device path or a simulator name.</summary>
    string Name { get; }

    /// <summary>Line speed in bits per second, used to compute wire time and timeouts.</summary>
    int BaudRate { get; }

    /// <summary>True after an I/O error: the port must be closed and reopened.</summary>
    bool IsBroken { get; }

    /// <summary>Writes all bytes (for RS-485, also waits until they left the wire before releasing the line).</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>
    /// Reads at least one and at most <paramref name="buffer"/>.Length bytes, waiting at most
    /// <paramref name="timeout"/> for the first byte. Returns 0 when the timeout elapsed.
    /// </summary>
    ValueTask<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Drops whatever has been received and not yet read (after a garbled reply, before a retry).</summary>
    void DiscardInput();
}
