using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Kezekshi.Server.Sync.Ingest;

/// <summary>
/// Length limits of the <c>up/events</c> fields the centre writes into a bounded or indexed place (docs/sync-protocol.md
/// §4.1 "Field limits"), and the one check of a <c>passage</c> payload, whichever reader read it.
/// </summary>
/// <remarks>
/// Why: PostgreSQL refuses a B-tree entry over 2,704 bytes (a third of an 8 KiB page, after its own compression) and a
/// NUL in text, and it refuses them inside the <c>COPY</c> of a whole group of batches. A field over its limit dead-letters
/// its one event (<c>invalid-event</c>, the detail names the field, its length and the limit) before anything is written.
/// The limits leave wide headroom over what Edge.Agent sends: a passage uid is 32 hex digits (<c>Guid</c> "N"), gate ids
/// are short names such as <c>main-1</c>, reason and outcome codes are under 20 characters, pupil IDs are int64 (at most
/// 20 characters), credential kinds are single words.
/// </remarks>
internal static class UplinkLimits
{
    /// <summary>An event's <c>type</c> (known types are at most 21 characters).</summary>
    public const int EventType = 64;

    /// <summary>A passage's <c>uid</c>: the primary key of <c>passages</c>.</summary>
    public const int PassageUid = 64;

    /// <summary>A passage's <c>gate</c>.</summary>
    public const int Gate = 64;

    /// <summary>A passage's <c>reason</c> and <c>outcome</c> codes.</summary>
    public const int Code = 64;

    /// <summary>A passage's <c>holderKind</c>: part of the <c>passages_holder</c> index.</summary>
    public const int HolderKind = 32;

    /// <summary>A passage's <c>credential</c> kind.</summary>
    public const int Credential = 32;

    /// <summary>
    /// <c>pupilId</c> of <c>canteen.charge</c> and <c>canteen.refund</c>: the key of the expression index
    /// <c>events_canteen_by_pupil</c> (<c>payload-&gt;&gt;'pupilId'</c>). A string counts in characters, any other JSON value
    /// in bytes as sent (its text is what the index holds).
    /// </summary>
    public const int PupilId = 64;

    /// <summary>Most characters of a dead letter's <c>detail</c> (it quotes what was wrong, never a whole payload).</summary>
    public const int DeadLetterDetail = 2000;

    /// <summary><c>agentVersion</c> of <c>up/hello</c>, kept (made storable) up to this many characters: it is shown, not matched.</summary>
    public const int AgentVersion = 64;

    /// <summary>A rejected change's <c>reason</c> in <c>up/acks</c>, kept (made storable) up to this many characters.</summary>
    public const int ChangeRejectionReason = 1000;

    /// <summary>
    /// Ids the centre issues for consents and template deletions (<c>^[A-Za-z0-9._-]{1,64}$</c>, the CHECK of their tables):
    /// a purge confirmation in <c>up/acks</c> names one of them, and <c>purge_confirmations</c> has it in its primary key.
    /// </summary>
    public const int CentreId = 64;

    private static readonly SearchValues<char> s_centreIdChars = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

    /// <summary>True when <paramref name="id"/> has the shape of a centre-issued consent or deletion id (1–64 of A–Z a–z 0–9 . _ -).</summary>
    public static bool IsCentreId(string? id) => id is { Length: > 0 and <= CentreId } && !id.AsSpan().ContainsAnyExcept(s_centreIdChars);

    /// <summary>The event types whose payload fields end up in an index key, and those fields (top level of the payload).</summary>
    /// <remarks>A new expression index on an uplink payload field adds its line here, so its limit is checked before the COPY.</remarks>
    private static readonly Dictionary<string, (string Field, int Limit)[]> s_indexedPayloadFields = new(StringComparer.Ordinal)
    {
        ["canteen.charge"] = [("pupilId", PupilId)],
        ["canteen.refund"] = [("pupilId", PupilId)],
    };

    /// <summary>"<paramref name="field"/> is N characters long, limit M", or null when <paramref name="value"/> fits (null fits).</summary>
    public static string? TooLong(string field, string? value, int limit) =>
        value is { Length: var length } ? LengthOver(field, length, limit) : null;

    private static string? LengthOver(string field, int characters, int limit) =>
        characters > limit ? string.Create(CultureInfo.InvariantCulture, $"{field} is {characters} characters long, limit {limit}") : null;

    /// <summary>Like <see cref="TooLong"/>, and an empty or absent value is a problem too.</summary>
    public static string? MissingOrTooLong(string field, string? value, int limit) =>
        string.IsNullOrEmpty(value) ? $"{field} is missing" : TooLong(field, value, limit);

    // What a passage's credential may be spelled with (checked per event: a span search, no enumerator).
    private static readonly SearchValues<char> s_credentialChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyz-");

    /// <summary>
    /// Why a passage payload cannot be stored (null: it can, timestamps apart). One check for what either reader produced
    /// (<see cref="UplinkReader.TryReadPassage"/> or the deserializer), so the two can never disagree on a limit.
    /// </summary>
    public static string? CheckPassage(PassagePayload p)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (p.SchemaVersion != 1) return $"passage payload schemaVersion {p.SchemaVersion?.ToString(CultureInfo.InvariantCulture) ?? "missing"}, expected 1";
        if (MissingOrTooLong("uid", p.Uid, PassageUid) is { } uid) return uid;
        if (MissingOrTooLong("gate", p.Gate, Gate) is { } gate) return gate;
        if (p.Direction is not ("entry" or "exit")) return $"direction '{Quote(p.Direction, 32)}' is not entry or exit";
        if (p.Decision is not ("granted" or "denied")) return $"decision '{Quote(p.Decision, 32)}' is not granted or denied";
        if (MissingOrTooLong("reason", p.Reason, Code) is { } reason) return reason;
        if (MissingOrTooLong("outcome", p.Outcome, Code) is { } outcome) return outcome;
        if (TooLong("holderKind", p.HolderKind, HolderKind) is { } holderKind) return holderKind;
        // Not limited to today's "card" and "face": a newer agent's credential kind is stored, not dead-lettered.
        if (p.Credential is { } credential)
        {
            if (TooLong("credential", credential, Credential) is { } tooLong) return tooLong;
            if (credential.Length == 0 || credential.AsSpan().ContainsAnyExcept(s_credentialChars))
                return $"credential '{Quote(credential, Credential)}' is not a lower-case word";
        }
        return null;
    }

    /// <summary>
    /// Why an event of <paramref name="type"/> cannot be stored because a payload field that is an index key is over its
    /// limit (null: none is, or the type has no indexed field). <paramref name="payload"/> is a JSON object already read once.
    /// </summary>
    /// <remarks>A repeated field is checked at each occurrence (jsonb keeps the last one, the check is not weaker for it).</remarks>
    public static string? CheckIndexedFields(string type, ReadOnlySpan<byte> payload)
    {
        if (!s_indexedPayloadFields.TryGetValue(type, out var fields)) return null;
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 32 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                (string Field, int Limit)? match = null;
                foreach (var f in fields)
                    if (reader.ValueTextEquals(f.Field)) match = f;
                if (!reader.Read()) return null;
                if (match is { } m && Measure(ref reader, m.Field, m.Limit) is { } problem) return problem;
                if (!reader.TrySkip()) return null;
            }
            return null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Not reachable: the message reader has read this payload as a JSON object, and a lone surrogate escape (which
            // GetString refuses) has been dead-lettered by the jsonb check before this one runs.
            return null;
        }
    }

    private static string? Measure(ref Utf8JsonReader reader, string field, int limit)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                int chars = reader.ValueIsEscaped ? reader.GetString()!.Length : Encoding.UTF8.GetCharCount(reader.ValueSpan);
                return LengthOver(field, chars, limit);
            default:
                // A number, object, array or boolean: its text is the index key; its size as sent bounds that text (an
                // exponent widens a number's text, but into zeros that PostgreSQL compresses before the B-tree check).
                long start = reader.TokenStartIndex;
                string kind = reader.TokenType switch
                {
                    JsonTokenType.Number => "a number",
                    JsonTokenType.StartObject => "an object",
                    JsonTokenType.StartArray => "an array",
                    _ => "a value",
                };
                var copy = reader;
                if (!copy.TrySkip()) return null;
                long bytes = copy.BytesConsumed - start;
                return bytes > limit ? string.Create(CultureInfo.InvariantCulture, $"{field} is {kind} of {bytes} bytes, limit {limit}") : null;
        }
    }

    /// <summary>
    /// <paramref name="text"/> as PostgreSQL can store it in a text column, at most <paramref name="max"/> characters: a NUL
    /// and an unpaired surrogate become U+FFFD (PostgreSQL refuses the first; the second is not UTF-8). The same string when
    /// nothing needs changing.
    /// </summary>
    public static string Storable(string text, int max)
    {
        ArgumentNullException.ThrowIfNull(text);
        var span = text.AsSpan();
        if (span.Length <= max && span.IndexOf('\0') < 0 && span.IndexOfAnyInRange('\uD800', '\uDFFF') < 0) return text;
        var cut = span.Length <= max ? span : span[..max];
        var builder = new StringBuilder(cut.Length + 1);
        for (int i = 0; i < cut.Length; i++)
        {
            char c = cut[i];
            if (char.IsHighSurrogate(c) && i + 1 < cut.Length && char.IsLowSurrogate(cut[i + 1]))
            {
                builder.Append(c).Append(cut[++i]);
            }
            else
            {
                builder.Append(c == '\0' || char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }
        if (span.Length > max) builder.Append('…');
        return builder.ToString();
    }

    /// <summary>A value quoted in a detail: storable and short.</summary>
    public static string Quote(string? value, int max) => value is null ? "" : Storable(value, max);
}
