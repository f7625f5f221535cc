namespace Kezekshi.Edge.Devices.Transport.Serial;

/// <summary>
/// Turns errno values from opening, configuring and using a Linux serial port into messages that
/// tell school IT what to check, with <see cref="DeviceException.IsTransient"/> set where a reopen can help.
/// </summary>
internal static class LinuxSerialErrors
{
    public static TransportException Open(string port, int errno) => errno switch
    {
        Libc.ENOENT => new TransportException(
            $"Serial port {port} does not exist: is the USB-RS485 adapter plugged in? See `ls /dev/serial/by-id/` for the adapters this PC sees and put that stable path in the hardware profile.",
            isTransient: true, errno),
        Libc.EACCES or Libc.EPERM => new TransportException(
            $"Serial port {port}: permission denied: add the service user to the dialout group: sudo usermod -aG dialout <user>, then restart the service (group membership applies at the next login).",
            isTransient: false, errno),
        Libc.EBUSY => InUse(port),
        Libc.ENXIO or Libc.ENODEV => new TransportException(
            $"Serial port {port} has no device behind it (the name exists but the hardware is missing or was just unplugged): check the adapter and `dmesg | tail`.",
            isTransient: true, errno),
        Libc.EIO => new TransportException(
            $"Serial port {port}: I/O error while opening: the adapter may be unplugged or faulty; check the cable and `dmesg | tail`.",
            isTransient: true, errno),
        _ => new TransportException(
            $"Serial port {port} could not be opened: {Libc.Describe(errno)} (errno {errno}). Check the port name in the hardware profile.",
            isTransient: false, errno),
    };

    public static TransportException InUse(string port) => new(
        $"Serial port {port} is in use by another program: find it with `fuser {port}` (or `lsof {port}`) and stop it, or give each program its own port.",
        isTransient: true, Libc.EBUSY);

    public static TransportException Configure(string port, string operation, int errno) => errno switch
    {
        Libc.ENOTTY or Libc.EINVAL when operation == "tcgetattr" => new TransportException(
            $"{port} is not a serial port (not a terminal device): check the path in the hardware profile; serial ports are /dev/ttyUSB*, /dev/ttyACM*, /dev/ttyS*, /dev/ttyAMA* or /dev/serial/by-id/*.",
            isTransient: false, errno),
        Libc.EIO or Libc.ENXIO or Libc.ENODEV => new TransportException(
            $"Serial port {port}: {operation} failed: {Libc.Describe(errno)}: the adapter was probably unplugged while being set up; check the cable and `dmesg | tail`.",
            isTransient: true, errno),
        _ => new TransportException(
            $"Serial port {port}: {operation} failed: {Libc.Describe(errno)} (errno {errno}). The driver rejected the line settings; check baud rate, data bits and parity against the device's manual.",
            isTransient: false, errno),
    };

    /// <summary>A failure of a port that was working (errno 0: hang-up / end of file).</summary>
    public static TransportException Broken(string port, int errno, string operation) => errno == 0
        ? new TransportException(
            $"Serial port {port} was disconnected (hang-up on {operation}): the USB-RS485 adapter was unplugged or its cable is loose. Check the adapter (`ls /dev/serial/by-id/`, `dmesg | tail`); the port must be reopened.",
            isTransient: true, 0)
        : new TransportException(
            $"Serial port {port}: {operation} failed: {Libc.Describe(errno)} (errno {errno}). The adapter may have been unplugged or reset; check it (`dmesg | tail`); the port must be reopened.",
            isTransient: true, errno);
}
