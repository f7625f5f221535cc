using System.Buffers.Binary;

namespace Kezekshi.Edge.Devices.Protocols.Osdp;

/// <summary>LED colours. OSDP v2.2 §6.10, colour values.</summary>
public enum OsdpLedColor : byte
{
    /// <summary>Off.</summary>
    Black = 0,
    /// <summary>Red.</summary>
    Red = 1,
    /// <summary>Green.</summary>
    Green = 2,
    /// <summary>Amber.</summary>
    Amber = 3,
    /// <summary>Blue.</summary>
    Blue = 4,
    /// <summary>Magenta.</summary>
    Magenta = 5,
    /// <summary>Cyan.</summary>
    Cyan = 6,
    /// <summary>White.</summary>
    White = 7,
}

/// <summary>Temporary-state control code of osdp_LED. OSDP v2.2 §6.10.</summary>
public enum OsdpLedTemporaryControl : byte
{
    /// <summary>Leave the temporary state as it is.</summary>
    NoChange = 0,
    /// <summary>Cancel the temporary state and show the permanent one.</summary>
    Cancel = 1,
    /// <summary>Set the temporary state and start its timer.</summary>
    Set = 2,
}

/// <summary>Permanent-state control code of osdp_LED. OSDP v2.2 §6.10.</summary>
public enum OsdpLedPermanentControl : byte
{
    /// <summary>Leave the permanent state as it is.</summary>
    NoChange = 0,
    /// <summary>Set the permanent state.</summary>
    Set = 1,
}

/// <summary>
/// One osdp_LED record (14 bytes). Times are in units of 100 ms; the timer (temporary state duration) is LSB first.
/// </summary>
/// <remarks>OSDP v2.2 §6.10: reader, LED number, temporary control, on, off, on colour, off colour, timer (LSB, MSB),
/// permanent control, on, off, on colour, off colour. A frame may carry several records.</remarks>
public readonly record struct OsdpLedCommand(
    byte ReaderNumber,
    byte LedNumber,
    OsdpLedTemporaryControl TemporaryControl,
    byte TemporaryOnTime,
    byte TemporaryOffTime,
    OsdpLedColor TemporaryOnColor,
    OsdpLedColor TemporaryOffColor,
    ushort TemporaryTimer,
    OsdpLedPermanentControl PermanentControl,
    byte PermanentOnTime,
    byte PermanentOffTime,
    OsdpLedColor PermanentOnColor,
    OsdpLedColor PermanentOffColor)
{
    /// <summary>Bytes per record.</summary>
    public const int RecordLength = 14;

    /// <summary>A steady permanent colour (e.g. red = "present card").</summary>
    public static OsdpLedCommand Steady(OsdpLedColor color, byte readerNumber = 0, byte ledNumber = 0) =>
        new(readerNumber, ledNumber, OsdpLedTemporaryControl.NoChange, 0, 0, OsdpLedColor.Black, OsdpLedColor.Black, 0,
            OsdpLedPermanentControl.Set, 1, 0, color, color);

    /// <summary>A temporary colour for <paramref name="duration"/> (rounded to 100 ms), then back to the permanent state (e.g. green = "pass").</summary>
    public static OsdpLedCommand Temporary(OsdpLedColor color, TimeSpan duration, byte readerNumber = 0, byte ledNumber = 0) =>
        new(readerNumber, ledNumber, OsdpLedTemporaryControl.Set, 1, 0, color, color,
            (ushort)Math.Clamp(Math.Round(duration.TotalMilliseconds / 100), 0, ushort.MaxValue),
            OsdpLedPermanentControl.NoChange, 0, 0, OsdpLedColor.Black, OsdpLedColor.Black);

    /// <summary>Parses the first record of <paramref name="data"/>.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out OsdpLedCommand command)
    {
        command = default;
        if (data.Length < RecordLength) return false;
        command = new OsdpLedCommand(data[0], data[1], (OsdpLedTemporaryControl)data[2], data[3], data[4],
            (OsdpLedColor)data[5], (OsdpLedColor)data[6], BinaryPrimitives.ReadUInt16LittleEndian(data[7..]),
            (OsdpLedPermanentControl)data[9], data[10], data[11], (OsdpLedColor)data[12], (OsdpLedColor)data[13]);
        return true;
    }

    /// <summary>Writes the record; returns <see cref="RecordLength"/>.</summary>
    public int Write(Span<byte> destination)
    {
        if (destination.Length < RecordLength) throw new ArgumentException("Destination too small.", nameof(destination));
        destination[0] = ReaderNumber;
        destination[1] = LedNumber;
        destination[2] = (byte)TemporaryControl;
        destination[3] = TemporaryOnTime;
        destination[4] = TemporaryOffTime;
        destination[5] = (byte)TemporaryOnColor;
        destination[6] = (byte)TemporaryOffColor;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[7..], TemporaryTimer);
        destination[9] = (byte)PermanentControl;
        destination[10] = PermanentOnTime;
        destination[11] = PermanentOffTime;
        destination[12] = (byte)PermanentOnColor;
        destination[13] = (byte)PermanentOffColor;
        return RecordLength;
    }
}

/// <summary>Buzzer tone code of osdp_BUZ. OSDP v2.2 §6.11.</summary>
public enum OsdpBuzzerTone : byte
{
    /// <summary>No tone (deprecated alias of off).</summary>
    None = 0,
    /// <summary>Off.</summary>
    Off = 1,
    /// <summary>The device's default tone.</summary>
    Default = 2,
}

/// <summary>osdp_BUZ (5 bytes): reader, tone, on time, off time (100 ms units), count (0 = until changed).</summary>
/// <remarks>OSDP v2.2 §6.11.</remarks>
public readonly record struct OsdpBuzzerCommand(byte ReaderNumber, OsdpBuzzerTone Tone, byte OnTime, byte OffTime, byte Count)
{
    /// <summary>Bytes per record.</summary>
    public const int RecordLength = 5;

    /// <summary>Short beeps: <paramref name="count"/> × (on 100 ms, off 100 ms).</summary>
    public static OsdpBuzzerCommand Beep(byte count = 1, byte readerNumber = 0) => new(readerNumber, OsdpBuzzerTone.Default, 1, 1, count);

    /// <summary>Parses the first record of <paramref name="data"/>.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out OsdpBuzzerCommand command)
    {
        command = default;
        if (data.Length < RecordLength) return false;
        command = new OsdpBuzzerCommand(data[0], (OsdpBuzzerTone)data[1], data[2], data[3], data[4]);
        return true;
    }

    /// <summary>Writes the record; returns <see cref="RecordLength"/>.</summary>
    public int Write(Span<byte> destination)
    {
        if (destination.Length < RecordLength) throw new ArgumentException("Destination too small.", nameof(destination));
        destination[0] = ReaderNumber;
        destination[1] = (byte)Tone;
        destination[2] = OnTime;
        destination[3] = OffTime;
        destination[4] = Count;
        return RecordLength;
    }
}

/// <summary>Output control code of osdp_OUT. OSDP v2.2 §6.9.</summary>
public enum OsdpOutputControl : byte
{
    /// <summary>No change.</summary>
    NoChange = 0,
    /// <summary>Permanent off, abort timed operation.</summary>
    PermanentOffAbortTimed = 1,
    /// <summary>Permanent on, abort timed operation.</summary>
    PermanentOnAbortTimed = 2,
    /// <summary>Permanent off, allow timed operation to complete.</summary>
    PermanentOffAllowTimed = 3,
    /// <summary>Permanent on, allow timed operation to complete.</summary>
    PermanentOnAllowTimed = 4,
    /// <summary>Temporary on for the timer, then back to permanent state.</summary>
    TemporaryOn = 5,
    /// <summary>Temporary off for the timer, then back to permanent state.</summary>
    TemporaryOff = 6,
}

/// <summary>One osdp_OUT record (4 bytes): output number, control code, timer in 100 ms units (LSB first).</summary>
/// <remarks>OSDP v2.2 §6.9. A frame may carry several records.</remarks>
public readonly record struct OsdpOutputCommand(byte OutputNumber, OsdpOutputControl ControlCode, ushort Timer)
{
    /// <summary>Bytes per record.</summary>
    public const int RecordLength = 4;

    /// <summary>Parses the first record of <paramref name="data"/>.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out OsdpOutputCommand command)
    {
        command = default;
        if (data.Length < RecordLength) return false;
        command = new OsdpOutputCommand(data[0], (OsdpOutputControl)data[1], BinaryPrimitives.ReadUInt16LittleEndian(data[2..]));
        return true;
    }

    /// <summary>Writes the record; returns <see cref="RecordLength"/>.</summary>
    public int Write(Span<byte> destination)
    {
        if (destination.Length < RecordLength) throw new ArgumentException("Destination too small.", nameof(destination));
        destination[0] = OutputNumber;
        destination[1] = (byte)ControlCode;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], Timer);
        return RecordLength;
    }
}
