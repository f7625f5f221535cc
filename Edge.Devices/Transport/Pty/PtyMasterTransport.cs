using System.Runtime.Versioning;
using Kezekshi.Edge.Devices.Transport.Serial;

namespace Kezekshi.Edge.Devices.Transport.Pty;

/// <summary>
/// The master (device) side of a <see cref="PseudoTerminal"/> as a byte transport: what a device
/// simulator writes here, the serial port on the slave reads, and the other way round.
/// </summary>
/// <remarks>
/// Served by the same poll-thread machinery as <see cref="LinuxSerialPort"/>, so simulators exercise
/// the real receive path. <see cref="BaudRate"/> is nominal: ptys deliver bytes at memory speed,
/// so the simulator itself must pace replies if timing matters.
/// </remarks>
[SupportedOSPlatform("linux")]
public sealed class PtyMasterTransport : IByteTransport
{
    private readonly int _fd;
    private readonly FdPump _pump;
    private readonly FdEndpoint _endpoint;

    internal PtyMasterTransport(int masterFd, string slavePath, int nominalBaudRate, TimeProvider time)
    {
        _fd = masterFd;
        Name = $"pty-master({slavePath})";
        BaudRate = nominalBaudRate;
        _pump = new FdPump(masterFd, Name, Describe);
        _endpoint = new FdEndpoint(masterFd, _pump, time, this);
        _pump.Start();
    }

    public string Name { get; }

    /// <summary>Nominal line speed, for <see cref="WireTime"/> only.</summary>
    public int BaudRate { get; }

    public bool IsBroken => _endpoint.IsBroken;

    /// <summary>Bytes received and not yet read (for tests that must know data arrived without reading it).</summary>
    internal int BytesAvailable => _endpoint.BytesAvailable;

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => _endpoint.WriteAsync(data, cancellationToken);

    public ValueTask<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken) =>
        _endpoint.ReadAsync(buffer, timeout, cancellationToken);

    public void DiscardInput() => _endpoint.DiscardInput();

    /// <summary>Closes the master: the slave side sees a hang-up, as if the adapter were unplugged.</summary>
    public async ValueTask DisposeAsync() => await _endpoint.CloseAsync(Name).ConfigureAwait(false);

    private TransportException Describe(int errno, string operation) => errno == 0
        ? new TransportException($"{Name}: the serial side hung up ({operation}): every slave descriptor was closed.", isTransient: false, 0)
        : new TransportException($"{Name}: {operation} failed: {Libc.Describe(errno)} (errno {errno}); the serial side probably closed.", isTransient: false, errno);
}
