using System.Text;
using System.Text.Json;

namespace Kezekshi.Server.Sync.Ingest;

/// <summary>An <c>up/events</c> envelope as the ingestor checks it; each event's payload is the exact bytes it arrived as.</summary>
internal sealed record BatchEnvelope(int? SchemaVersion, string? Type, string? School, string? Region, string? Epoch, long? FirstSeq, long? LastSeq,
    List<BatchEvent?>? Events);

/// <summary>One event of a batch; <see cref="Payload"/> is the raw JSON value (empty when absent or null) and <see cref="PayloadKind"/> its kind.</summary>
internal sealed record BatchEvent(long? Seq, string? Type, int? SchemaVersion, string? CreatedAt, ReadOnlyMemory<byte> Payload, JsonValueKind PayloadKind)
{
    /// <summary>The payload as JSON text for the <c>events.payload</c> column (<c>null</c> when absent).</summary>
    public string PayloadJson => Payload.IsEmpty ? "null" : Encoding.UTF8.GetString(Payload.Span);
}

/// <summary>
/// Reads an <c>up/events</c> message in one forward pass with <see cref="Utf8JsonReader"/>: no <see cref="JsonDocument"/> per
/// event, each payload kept as a slice of the message (it is stored as sent and parsed once more only if it is a passage).
/// </summary>
/// <remarks>
/// Only the well-formed shape is read here. Anything else (malformed or truncated JSON, a wrong type for a field, an event
/// that is not an object) makes <see cref="TryRead"/> return false, and the ingestor reads the message again with the
/// source-generated deserializer, whose error message goes into the dead letter: one set of rules for bad input.
/// </remarks>
internal static class UplinkReader
{
    public static bool TryRead(ReadOnlyMemory<byte> message, out BatchEnvelope? envelope)
    {
        envelope = null;
        try
        {
            var reader = new Utf8JsonReader(message.Span, new JsonReaderOptions { MaxDepth = 32 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            int? schemaVersion = null;
            string? type = null, school = null, region = null, epoch = null;
            long? firstSeq = null, lastSeq = null;
            List<BatchEvent?>? events = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool ok;
                if (reader.ValueTextEquals("schemaVersion"u8)) ok = ReadInt(ref reader, out schemaVersion);
                else if (reader.ValueTextEquals("type"u8)) ok = ReadString(ref reader, out type);
                else if (reader.ValueTextEquals("school"u8)) ok = ReadString(ref reader, out school);
                else if (reader.ValueTextEquals("region"u8)) ok = ReadString(ref reader, out region);
                else if (reader.ValueTextEquals("epoch"u8)) ok = ReadString(ref reader, out epoch);
                else if (reader.ValueTextEquals("firstSeq"u8)) ok = ReadLong(ref reader, out firstSeq);
                else if (reader.ValueTextEquals("lastSeq"u8)) ok = ReadLong(ref reader, out lastSeq);
                else if (reader.ValueTextEquals("events"u8)) ok = ReadEvents(ref reader, message, out events);
                else if (reader.ValueTextEquals("msgId"u8) || reader.ValueTextEquals("sentAt"u8)) ok = ReadString(ref reader, out _);
                else ok = reader.Read() && reader.TrySkip();
                if (!ok) return false;
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read()) return false; // trailing content
            envelope = new BatchEnvelope(schemaVersion, type, school, region, epoch, firstSeq, lastSeq, events);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The same envelope from the deserializer's model (the slow path, for messages <see cref="TryRead"/> declines).</summary>
    public static BatchEnvelope From(EventsEnvelope envelope) => new(envelope.SchemaVersion, envelope.Type, envelope.School, envelope.Region,
        envelope.Epoch, envelope.FirstSeq, envelope.LastSeq,
        envelope.Events?.Select(e => e is null ? null : new BatchEvent(e.Seq, e.Type, e.SchemaVersion, e.CreatedAt,
            e.Payload is { ValueKind: not JsonValueKind.Undefined and not JsonValueKind.Null } p ? Encoding.UTF8.GetBytes(p.GetRawText()) : ReadOnlyMemory<byte>.Empty,
            e.Payload?.ValueKind ?? JsonValueKind.Null)).ToList());

    private static bool ReadEvents(ref Utf8JsonReader reader, ReadOnlyMemory<byte> message, out List<BatchEvent?>? events)
    {
        events = null;
        if (!reader.Read()) return false;
        if (reader.TokenType == JsonTokenType.Null) return true;
        if (reader.TokenType != JsonTokenType.StartArray) return false;
        events = [];
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject) return false;
            long? seq = null;
            string? type = null, createdAt = null;
            int? schemaVersion = null;
            var payload = ReadOnlyMemory<byte>.Empty;
            var kind = JsonValueKind.Null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool ok;
                if (reader.ValueTextEquals("seq"u8)) ok = ReadLong(ref reader, out seq);
                else if (reader.ValueTextEquals("type"u8)) ok = ReadString(ref reader, out type);
                else if (reader.ValueTextEquals("schemaVersion"u8)) ok = ReadInt(ref reader, out schemaVersion);
                else if (reader.ValueTextEquals("createdAt"u8)) ok = ReadString(ref reader, out createdAt);
                else if (reader.ValueTextEquals("payload"u8))
                {
                    ok = reader.Read();
                    if (ok)
                    {
                        int start = (int)reader.TokenStartIndex;
                        kind = reader.TokenType switch
                        {
                            JsonTokenType.StartObject => JsonValueKind.Object,
                            JsonTokenType.StartArray => JsonValueKind.Array,
                            JsonTokenType.String => JsonValueKind.String,
                            JsonTokenType.Number => JsonValueKind.Number,
                            JsonTokenType.True => JsonValueKind.True,
                            JsonTokenType.False => JsonValueKind.False,
                            _ => JsonValueKind.Null,
                        };
                        ok = reader.TrySkip();
                        payload = kind == JsonValueKind.Null ? ReadOnlyMemory<byte>.Empty : message[start..(int)reader.BytesConsumed];
                    }
                }
                else ok = reader.Read() && reader.TrySkip();
                if (!ok) return false;
            }
            if (reader.TokenType != JsonTokenType.EndObject) return false;
            events.Add(new BatchEvent(seq, type, schemaVersion, createdAt, payload, kind));
        }
        return reader.TokenType == JsonTokenType.EndArray;
    }

    /// <summary>
    /// Reads a <c>passage</c> payload (a JSON object) in one forward pass, as the deserializer would: camelCase names,
    /// unknown properties skipped, the last of a repeated property wins. False for anything irregular (a wrong token
    /// type, a number out of range, trailing content): the caller then uses the deserializer, whose error message goes
    /// into the dead letter. The source-generated reader of this 12-parameter record took ~9 % of the process's CPU in
    /// a catch-up (perf: its parameterized-constructor path caches every argument).
    /// </summary>
    public static bool TryReadPassage(ReadOnlySpan<byte> payload, out PassagePayload? passage)
    {
        passage = null;
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 32 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            int? schemaVersion = null;
            string? uid = null, gate = null, direction = null, holderKind = null, decision = null, reason = null, outcome = null, decidedAt = null, completedAt = null, credential = null;
            long? holderId = null, manualBy = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool ok;
                if (reader.ValueTextEquals("schemaVersion"u8)) ok = ReadInt(ref reader, out schemaVersion);
                else if (reader.ValueTextEquals("uid"u8)) ok = ReadString(ref reader, out uid);
                else if (reader.ValueTextEquals("gate"u8)) ok = ReadString(ref reader, out gate);
                else if (reader.ValueTextEquals("direction"u8)) ok = ReadString(ref reader, out direction);
                else if (reader.ValueTextEquals("holderKind"u8)) ok = ReadString(ref reader, out holderKind);
                else if (reader.ValueTextEquals("holderId"u8)) ok = ReadLong(ref reader, out holderId);
                else if (reader.ValueTextEquals("decision"u8)) ok = ReadString(ref reader, out decision);
                else if (reader.ValueTextEquals("reason"u8)) ok = ReadString(ref reader, out reason);
                else if (reader.ValueTextEquals("outcome"u8)) ok = ReadString(ref reader, out outcome);
                else if (reader.ValueTextEquals("decidedAt"u8)) ok = ReadString(ref reader, out decidedAt);
                else if (reader.ValueTextEquals("completedAt"u8)) ok = ReadString(ref reader, out completedAt);
                else if (reader.ValueTextEquals("manualBy"u8)) ok = ReadLong(ref reader, out manualBy);
                else if (reader.ValueTextEquals("credential"u8)) ok = ReadString(ref reader, out credential);
                else ok = reader.Read() && reader.TrySkip();
                if (!ok) return false;
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read()) return false;
            passage = new PassagePayload(schemaVersion, uid, gate, direction, holderKind, holderId, decision, reason, outcome, decidedAt, completedAt, manualBy, credential);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool ReadString(ref Utf8JsonReader reader, out string? value)
    {
        value = null;
        if (!reader.Read()) return false;
        if (reader.TokenType == JsonTokenType.Null) return true;
        if (reader.TokenType != JsonTokenType.String) return false;
        value = reader.GetString();
        return true;
    }

    private static bool ReadInt(ref Utf8JsonReader reader, out int? value)
    {
        value = null;
        if (!reader.Read()) return false;
        if (reader.TokenType == JsonTokenType.Null) return true;
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out int v)) return false;
        value = v;
        return true;
    }

    private static bool ReadLong(ref Utf8JsonReader reader, out long? value)
    {
        value = null;
        if (!reader.Read()) return false;
        if (reader.TokenType == JsonTokenType.Null) return true;
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long v)) return false;
        value = v;
        return true;
    }
}
