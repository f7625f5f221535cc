namespace Kezekshi.Edge.Devices.Transport;

/// <summary>
/// The one exception family of the device layer. Everything that crosses from a transport,
/// codec or session into the agent is one of these, with <see cref="IsTransient"/> deciding
/// whether a retry or a reopen can help.
/// </summary>
public class DeviceException : Exception
{
    public DeviceException() { }
    public DeviceException(string message) : base(message) { }
    public DeviceException(string message, Exception inner) : base(message, inner) { }
    public DeviceException(string message, bool isTransient, Exception? inner = null) : base(message, inner) => IsTransient = isTransient;

    /// <summary>True when retrying (after reopening the port, if it is broken) may succeed.</summary>
    public bool IsTransient { get; init; }
}

/// <summary>A serial port or pseudo-terminal failed: could not open, configure, read or write.</summary>
public class TransportException : DeviceException
{
    public TransportException() { }
    public TransportException(string message) : base(message) { }
    public TransportException(string message, Exception inner) : base(message, inner) { }
    public TransportException(string message, bool isTransient, int errno = 0) : base(message, isTransient) => Errno = errno;

    /// <summary>The operating system's error number (errno on Linux, GetLastError on Windows), 0 if none.</summary>
    public int Errno { get; }
}
