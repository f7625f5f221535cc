namespace Kezekshi.Edge.Devices.Cards;

/// <summary>
/// One card presented to one reader, in the canonical form the gate looks up: the card's
/// number with framing and parity removed (for Wiegand-26, facility × 65536 + number, which is
/// the 8–10 digit decimal printed on most EM-Marine cards).
/// </summary>
/// <param name="ReaderId">The reader as the gate configuration names it (e.g. "gate1-in").</param>
/// <param name="CardNumber">Canonical card number.</param>
/// <param name="BitCount">Bits in the card's data as read (26 for Wiegand-26; 0 if the reader only gave digits).</param>
/// <param name="ReceivedTimestamp">
/// <see cref="TimeProvider.GetTimestamp"/> when the frame carrying the read was complete; the gate's latency clock starts here.
/// </param>
public readonly record struct CardRead(string ReaderId, ulong CardNumber, int BitCount, long ReceivedTimestamp);

/// <summary>Digits typed on a reader's keypad (a PIN, the alternative to biometrics that always exists).</summary>
public readonly record struct KeypadEntry(string ReaderId, string Digits, long ReceivedTimestamp);
