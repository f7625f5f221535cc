namespace Kezekshi.Edge.Devices.Protocols.Osdp;

/// <summary>Command codes (CP → PD) implemented here. OSDP v2.2 §6 and Annex B.</summary>
public enum OsdpCommandCode : byte
{
    /// <summary>osdp_POLL: "anything to report?"</summary>
    Poll = 0x60,
    /// <summary>osdp_ID: ask for the PD's identity (reply osdp_PDID).</summary>
    Id = 0x61,
    /// <summary>osdp_CAP: ask for the PD's capabilities (reply osdp_PDCAP).</summary>
    Capabilities = 0x62,
    /// <summary>osdp_LSTAT: local status (tamper, power) (reply osdp_LSTATR).</summary>
    LocalStatus = 0x64,
    /// <summary>osdp_OUT: output (relay) control.</summary>
    Output = 0x68,
    /// <summary>osdp_LED: reader LED control.</summary>
    Led = 0x69,
    /// <summary>osdp_BUZ: reader buzzer control.</summary>
    Buzzer = 0x6A,
}

/// <summary>Reply codes (PD → CP) implemented here. OSDP v2.2 §7 and Annex B.</summary>
public enum OsdpReplyCode : byte
{
    /// <summary>osdp_ACK: command accepted, nothing to report.</summary>
    Ack = 0x40,
    /// <summary>osdp_NAK: command refused (see <see cref="OsdpNakCode"/>).</summary>
    Nak = 0x41,
    /// <summary>osdp_PDID: identity report.</summary>
    PdId = 0x45,
    /// <summary>osdp_PDCAP: capability report.</summary>
    PdCapabilities = 0x46,
    /// <summary>osdp_LSTATR: local status report.</summary>
    LocalStatus = 0x48,
    /// <summary>osdp_RAW: card data as a raw bit image.</summary>
    RawCardData = 0x50,
    /// <summary>osdp_FMT: card data as characters.</summary>
    FormattedCardData = 0x51,
    /// <summary>osdp_KEYPAD: keys pressed.</summary>
    Keypad = 0x53,
    /// <summary>osdp_BUSY: PD busy, resend the same command (same SQN) later.</summary>
    Busy = 0x79,
}

/// <summary>osdp_NAK error codes. OSDP v2.2 §7.3, table "NAK error codes".</summary>
public enum OsdpNakCode : byte
{
    /// <summary>No error (not sent in practice).</summary>
    None = 0,
    /// <summary>Message check character(s) error (bad CRC/checksum).</summary>
    CheckCharacter = 1,
    /// <summary>Command length error.</summary>
    CommandLength = 2,
    /// <summary>Unknown command code.</summary>
    UnknownCommand = 3,
    /// <summary>Unexpected sequence number: the CP restarts at SQN 0.</summary>
    UnexpectedSequence = 4,
    /// <summary>Security block type not supported.</summary>
    UnsupportedSecurityBlock = 5,
    /// <summary>Encrypted communication required for this command.</summary>
    EncryptedCommunicationRequired = 6,
    /// <summary>BIO type not supported.</summary>
    BioTypeNotSupported = 7,
    /// <summary>BIO format not supported.</summary>
    BioFormatNotSupported = 8,
    /// <summary>Unable to process command record.</summary>
    UnableToProcess = 9,
}

/// <summary>Text for NAK codes, for logs and exceptions (no allocation).</summary>
public static class OsdpNakCodeText
{
    /// <summary>What the NAK code means, in words an installer understands.</summary>
    public static string Describe(OsdpNakCode code) => code switch
    {
        OsdpNakCode.CheckCharacter => "bad check character (CRC/checksum): noise on the line",
        OsdpNakCode.CommandLength => "command length error",
        OsdpNakCode.UnknownCommand => "unknown command",
        OsdpNakCode.UnexpectedSequence => "unexpected sequence number",
        OsdpNakCode.UnsupportedSecurityBlock => "security block not supported",
        OsdpNakCode.EncryptedCommunicationRequired => "encrypted communication (Secure Channel) required",
        OsdpNakCode.BioTypeNotSupported => "biometric type not supported",
        OsdpNakCode.BioFormatNotSupported => "biometric format not supported",
        OsdpNakCode.UnableToProcess => "unable to process command record",
        _ => "unknown NAK code",
    };
}
