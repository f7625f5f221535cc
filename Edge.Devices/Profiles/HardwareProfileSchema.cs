using System.Globalization;
using System.Text.Json;

namespace Kezekshi.Edge.Devices.Profiles;

/// <summary>
/// The schema every hardware profile is checked against, written as code so that each rule carries
/// the sentence that tells IT how to fix a mistake. <see cref="Validate"/> reports every problem in a
/// file at once, each naming the file, the field and the fix.
/// </summary>
public static class HardwareProfileSchema
{
    /// <summary>The profile format this build reads.</summary>
    public const int CurrentVersion = 1;

    private static readonly int[] s_baudRates = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600];

    private static readonly Node s_serial = Obj(
        ("baudRate", Int(1200, 921600, "use the rate set on the device (DIP switches or its manual): one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600", s_baudRates), false),
        ("dataBits", Int(7, 8, "use 8 (or 7 for old 7E1 readers)"), false),
        ("parity", Enum("none", "even", "odd"), false),
        ("stopBits", Int(1, 2, "use 1 or 2"), false),
        ("rs485", Bool(), false),
        ("replyTimeMs", Int(1, 5000, "the device's answer delay from its manual, typically 10–200 ms"), false));

    private static readonly Node s_osdp = Obj(
        ("defaultAddress", Int(0, 126, "OSDP addresses are 0–126 (127 is broadcast)"), true),
        ("useCrc", Bool(), false),
        ("grantLedColour", Int(0, 7, "OSDP colours: 0 black, 1 red, 2 green, 3 amber, 4 blue, 5 magenta, 6 cyan, 7 white"), false),
        ("denyLedColour", Int(0, 7, "OSDP colours: 0 black, 1 red, 2 green, 3 amber, 4 blue, 5 magenta, 6 cyan, 7 white"), false),
        ("grantLedMs", Int(100, 10000, "how long the LED shows the decision, 100–10000 ms"), false),
        ("denyBeeps", Int(0, 10, "0–10 beeps"), false),
        ("hasKeypad", Bool(), false));

    private static readonly Node s_modbus = Obj(
        ("defaultAddress", Int(1, 247, "Modbus slave addresses are 1–247 (set by the board's DIP switches)"), true),
        ("channels", Int(1, 64, "the number of relays or inputs on the board, 1–64"), true),
        ("firstRegister", Int(0, 65535, "the Modbus address of channel 1 from the board's manual, usually 0"), false),
        ("pollIntervalMs", Int(5, 1000, "5–1000 ms; 20 ms sees a pass sensor pulse of 50 ms on an idle PC (use counters for pass sensors)"), false),
        ("counterTable", Enum("none", "input-registers", "holding-registers"), false),
        ("firstCounterRegister", Int(0, 65535, "the register address of input 1's pulse counter from the module's manual"), false),
        ("registersPerCounter", Int(1, 2, "1 for 16-bit counters, 2 for 32-bit counters in two registers"), false),
        ("counterLowWordFirst", Bool(), false));

    private static readonly Node s_lineReader = Obj(
        ("prefix", Str(), false),
        ("suffix", Str(nonEmpty: true, hint: "the line terminator the reader sends, usually \"\\r\\n\""), false),
        ("numberFormat", Enum("decimal", "hex"), false),
        ("wiegand26", Enum("none", "from-frame", "from-em-marine"), false),
        ("debounceMs", Int(0, 60000, "0–60000 ms; 1500 ignores a card held on the reader"), false));

    private static readonly Node s_turnstile = Obj(
        ("type", Enum("tripod", "speed-gate", "door"), true),
        ("entryRelay", Int(1, 64, "a relay channel number on the board, starting at 1"), true),
        ("exitRelay", Int(1, 64, "a relay channel number on the board, starting at 1"), true),
        ("pulseMs", Int(100, 5000, "turnstile controllers need a pulse of at least 100 ms to latch; 200 ms is typical"), true),
        ("entrySensor", Int(1, 64, "an input channel number on the input module, starting at 1"), true),
        ("exitSensor", Int(1, 64, "an input channel number on the input module, starting at 1"), true),
        ("passTimeMs", Int(1000, 60000, "time a pupil has to pass, 1000–60000 ms; 5000 is typical"), true),
        ("emergencyRelay", Int(1, 64, "a relay channel number, or leave the field out"), false));

    private static readonly Node s_fireAlarm = Obj(
        ("contact", Enum("normally-open", "normally-closed"), true),
        ("debounceMs", Int(0, 5000, "0–5000 ms"), false),
        ("onInputModuleOffline", Enum("assume-alarm", "keep-last-state"), false));

    private static readonly Dictionary<string, (string Section, Node Node, bool NeedsSerial)> s_kinds = new()
    {
        ["osdp-reader"] = ("osdp", s_osdp, true),
        ["modbus-relay-board"] = ("modbus", s_modbus, true),
        ["modbus-input-module"] = ("modbus", s_modbus, true),
        ["line-reader"] = ("lineReader", s_lineReader, true),
        ["turnstile"] = ("turnstile", s_turnstile, false),
        ["fire-alarm-input"] = ("fireAlarm", s_fireAlarm, false),
    };

    private static readonly string[] s_sections = ["serial", "osdp", "modbus", "lineReader", "turnstile", "fireAlarm"];

    /// <summary>The values "kind" may take.</summary>
    /// <remarks>Exposed so that <c>hardware-profiles/profile.schema.json</c> (for editors) can be checked against this schema.</remarks>
    public static IReadOnlyCollection<string> Kinds => s_kinds.Keys;

    /// <summary>Each section's fields and whether they are required, for the same check.</summary>
    internal static IReadOnlyDictionary<string, IReadOnlyDictionary<string, bool>> SectionFields { get; } =
        new[] { ("serial", s_serial), ("osdp", s_osdp), ("modbus", s_modbus), ("lineReader", s_lineReader), ("turnstile", s_turnstile), ("fireAlarm", s_fireAlarm) }
            .ToDictionary(s => s.Item1, s => (IReadOnlyDictionary<string, bool>)s.Item2.Fields!.ToDictionary(f => f.Key, f => f.Value.Required));

    /// <summary>Checks a parsed profile; returns every problem as "file: field 'x.y': what is wrong — how to fix it".</summary>
    public static IReadOnlyList<string> Validate(string fileName, JsonElement root)
    {
        var errors = new List<string>();
        void Fail(string field, string message) => errors.Add($"{fileName}: field '{field}': {message}");

        if (root.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{fileName}: the file must hold one JSON object {{ ... }} describing one device model.");
            return errors;
        }

        var top = new Dictionary<string, (Node, bool)>
        {
            ["$schema"] = (Str(), false),
            ["schemaVersion"] = (Int(CurrentVersion, CurrentVersion, $"this version of Kezekshi Edge reads profile schemaVersion {CurrentVersion}"), true),
            ["model"] = (Str(nonEmpty: true, hint: "a short model name, e.g. \"acme-tripod-t5\""), true),
            ["kind"] = (Enum([.. s_kinds.Keys]), true),
            ["manufacturer"] = (Str(), false),
            ["description"] = (Str(), false),
        };
        foreach (var section in s_sections) top[section] = (Any(), false);
        CheckObject(root, "", top, Fail);

        if (root.TryGetProperty("kind", out var kindElement) && kindElement.ValueKind == JsonValueKind.String
            && s_kinds.TryGetValue(kindElement.GetString()!, out var kind))
        {
            if (root.TryGetProperty(kind.Section, out var section))
                CheckNode(section, kind.Section, kind.Node, Fail);
            else
                Fail(kind.Section, $"missing: a \"{kindElement.GetString()}\" profile needs a \"{kind.Section}\": {{ ... }} section.");

            if (kind.NeedsSerial)
            {
                if (root.TryGetProperty("serial", out var serial)) CheckNode(serial, "serial", s_serial, Fail);
                else Fail("serial", "missing: this device is on a serial line; add \"serial\": { \"baudRate\": 9600 } (values from the device's manual).");
            }
            else if (root.TryGetProperty("serial", out _))
            {
                Fail("serial", $"not used by a \"{kindElement.GetString()}\" profile (it is wired through a relay board or input module); remove it.");
            }

            foreach (var other in s_sections)
            {
                if (other == kind.Section || other == "serial") continue;
                if (root.TryGetProperty(other, out _))
                    Fail(other, $"does not belong in a \"{kindElement.GetString()}\" profile; remove it or change \"kind\".");
            }

            if (kind.Section == "modbus" && kindElement.GetString() == "modbus-relay-board" && root.TryGetProperty("modbus", out var relayModbus)
                && relayModbus.ValueKind == JsonValueKind.Object)
            {
                foreach (var counterField in new[] { "counterTable", "firstCounterRegister", "registersPerCounter", "counterLowWordFirst" })
                {
                    if (relayModbus.TryGetProperty(counterField, out _))
                        Fail($"modbus.{counterField}", "pulse counters belong to an input module, not a relay board; remove it.");
                }
            }

            // The section's own type errors are already reported above; only compare well-formed values
            // (a non-object section, a fractional relay or a non-string type must not throw here).
            if (kind.Section == "turnstile" && root.TryGetProperty("turnstile", out var t) && t.ValueKind == JsonValueKind.Object
                && t.TryGetProperty("entryRelay", out var er) && t.TryGetProperty("exitRelay", out var xr)
                && er.ValueKind == JsonValueKind.Number && xr.ValueKind == JsonValueKind.Number
                && er.TryGetInt32(out int entryRelay) && xr.TryGetInt32(out int exitRelay) && entryRelay == exitRelay
                && t.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "tripod")
            {
                Fail("turnstile.exitRelay", "a tripod needs separate relay channels for entry and exit; wire exit to another relay.");
            }
        }
        return errors;
    }

    private static void CheckObject(JsonElement element, string path, Dictionary<string, (Node Node, bool Required)> fields, Action<string, string> fail)
    {
        foreach (var property in element.EnumerateObject())
        {
            string fieldPath = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
            if (!fields.TryGetValue(property.Name, out var spec))
            {
                string? suggestion = fields.Keys.FirstOrDefault(k => string.Equals(k, property.Name, StringComparison.OrdinalIgnoreCase))
                    ?? fields.Keys.OrderBy(k => Distance(k, property.Name)).FirstOrDefault(k => Distance(k, property.Name) <= 3);
                fail(fieldPath, suggestion is null
                    ? $"unknown field; allowed here: {string.Join(", ", fields.Keys.Where(k => k != "$schema"))}."
                    : $"unknown field; did you mean '{suggestion}'? (names are case-sensitive)");
                continue;
            }
            CheckNode(property.Value, fieldPath, spec.Node, fail);
        }
        foreach (var (name, spec) in fields)
        {
            if (spec.Required && !element.TryGetProperty(name, out _))
                fail(path.Length == 0 ? name : $"{path}.{name}", $"missing: this field is required{(spec.Node.Hint is null ? "." : $" ({spec.Node.Hint}).")}");
        }
    }

    private static void CheckNode(JsonElement value, string path, Node node, Action<string, string> fail)
    {
        switch (node.Type)
        {
            case NodeType.Any:
                return;
            case NodeType.Object:
                if (value.ValueKind != JsonValueKind.Object) { fail(path, $"must be an object {{ ... }}, found {Describe(value)}."); return; }
                CheckObject(value, path, node.Fields!, fail);
                return;
            case NodeType.Bool:
                if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) fail(path, $"must be true or false, found {Describe(value)}.");
                return;
            case NodeType.String:
                if (value.ValueKind != JsonValueKind.String) { fail(path, $"must be a string in quotes, found {Describe(value)}."); return; }
                if (node.NonEmpty && value.GetString()!.Length == 0) fail(path, $"must not be empty{(node.Hint is null ? "." : $": {node.Hint}.")}");
                return;
            case NodeType.Enum:
                if (value.ValueKind != JsonValueKind.String || !node.Allowed!.Contains(value.GetString()!))
                    fail(path, $"must be one of {string.Join(", ", node.Allowed!.Select(a => $"\"{a}\""))}, found {Describe(value)}.");
                return;
            case NodeType.Int:
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int n))
                {
                    fail(path, $"must be a whole number, found {Describe(value)}{(node.Hint is null ? "." : $"; {node.Hint}.")}");
                    return;
                }
                if (node.Min == node.Max && n != node.Min)
                    fail(path, $"{n} is not supported, it must be {node.Min}: {node.Hint}.");
                else if (n < node.Min || n > node.Max)
                    fail(path, $"{n} is out of range {node.Min}–{node.Max}: {node.Hint}.");
                else if (node.OneOf is not null && !node.OneOf.Contains(n))
                    fail(path, $"{n} is not a supported value: {node.Hint}.");
                return;
        }
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"\"{value.GetString()}\"",
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
        JsonValueKind.Null => "null",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        _ => value.ValueKind.ToString().ToLowerInvariant(),
    };

    private static int Distance(string a, string b)
    {
        a = a.ToLower(CultureInfo.InvariantCulture);
        b = b.ToLower(CultureInfo.InvariantCulture);
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }

    private enum NodeType { Any, Object, Bool, String, Enum, Int }

    private sealed record Node(NodeType Type)
    {
        public Dictionary<string, (Node Node, bool Required)>? Fields { get; init; }
        public string[]? Allowed { get; init; }
        public int Min { get; init; }
        public int Max { get; init; }
        public int[]? OneOf { get; init; }
        public string? Hint { get; init; }
        public bool NonEmpty { get; init; }
    }

    private static Node Any() => new(NodeType.Any);
    private static Node Bool() => new(NodeType.Bool);
    private static Node Str(bool nonEmpty = false, string? hint = null) => new(NodeType.String) { NonEmpty = nonEmpty, Hint = hint };
    private static Node Enum(params string[] allowed) => new(NodeType.Enum) { Allowed = allowed };
    private static Node Int(int min, int max, string hint, int[]? oneOf = null) => new(NodeType.Int) { Min = min, Max = max, Hint = hint, OneOf = oneOf };
    private static Node Obj(params (string Name, Node Node, bool Required)[] fields) =>
        new(NodeType.Object) { Fields = fields.ToDictionary(f => f.Name, f => (f.Node, f.Required)) };
}
