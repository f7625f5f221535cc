namespace Kezekshi.Edge.Devices.Protocols.Osdp;

/// <summary>
/// The seam where OSDP Secure Channel (v2.2 §5.9 and Annex D: SCBK, session keys, MAC, AES-128 payload
/// encryption) slots in: every outgoing command and every incoming reply of <see cref="OsdpBus"/> passes through it.
/// </summary>
/// <remarks>
/// Only <see cref="OsdpPlainChannel"/> exists today. A Secure Channel implementation will add the security block
/// and MAC in <see cref="WriteCommand"/>, check the MAC and decrypt in <see cref="TryUnwrapReply"/>, and run the
/// osdp_CHLNG/osdp_SCRYPT handshake per address; the session's polling, retries and sequence numbers stay as they are.
/// </remarks>
public interface IOsdpSecureChannel
{
    /// <summary>Writes <paramref name="command"/> as it goes on the wire; returns the number of bytes.</summary>
    int WriteCommand(in OsdpFrame command, Span<byte> destination);

    /// <summary>
    /// Checks (and, with Secure Channel, decrypts into <paramref name="scratch"/>) a reply. False rejects it;
    /// the session counts it as bad input.
    /// </summary>
    bool TryUnwrapReply(in OsdpFrame reply, Span<byte> scratch, out OsdpFrame plain);

    /// <summary>Forgets the session with <paramref name="address"/> (it went offline or restarted at SQN 0).</summary>
    void Reset(byte address);
}

/// <summary>No security: frames pass unchanged; replies carrying a security block are rejected.</summary>
public sealed class OsdpPlainChannel : IOsdpSecureChannel
{
    /// <summary>The shared instance (stateless).</summary>
    public static OsdpPlainChannel Instance { get; } = new();

    private OsdpPlainChannel() { }

    /// <inheritdoc />
    public int WriteCommand(in OsdpFrame command, Span<byte> destination) => command.Write(destination);

    /// <inheritdoc />
    public bool TryUnwrapReply(in OsdpFrame reply, Span<byte> scratch, out OsdpFrame plain)
    {
        plain = reply;
        return !reply.HasSecurityBlock;
    }

    /// <inheritdoc />
    public void Reset(byte address) { }
}
