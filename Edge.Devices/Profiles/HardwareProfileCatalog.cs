using System.Text.Json;
using System.Text.Json.Serialization;
using Kezekshi.Edge.Devices.Transport;

namespace Kezekshi.Edge.Devices.Profiles;

/// <summary>A profile file (or several) failed the schema; <see cref="Exception.Message"/> lists every problem.</summary>
public sealed class HardwareProfileException : DeviceException
{
    public HardwareProfileException() { }
    public HardwareProfileException(string message) : base(message) { }
    public HardwareProfileException(string message, Exception inner) : base(message, inner) { }
    public HardwareProfileException(IReadOnlyList<string> problems)
        : base($"{problems.Count} problem(s) in hardware profiles:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", problems))
        => Problems = problems;

    public IReadOnlyList<string> Problems { get; } = [];
}

/// <summary>All hardware profiles of a directory, validated, by model name.</summary>
public sealed class HardwareProfileCatalog
{
    private readonly Dictionary<string, HardwareProfile> _byModel;

    private HardwareProfileCatalog(Dictionary<string, HardwareProfile> byModel) => _byModel = byModel;

    public IReadOnlyCollection<HardwareProfile> Profiles => _byModel.Values;

    /// <summary>Loads every <c>*.json</c> in <paramref name="directory"/>; throws one exception listing all problems.</summary>
    public static HardwareProfileCatalog Load(string directory)
    {
        if (!Directory.Exists(directory))
            throw new HardwareProfileException([$"{directory}: the hardware-profiles directory does not exist; set Edge:HardwareProfilesDirectory to the folder that holds the *.json device profiles."]);

        var problems = new List<string>();
        var byModel = new Dictionary<string, HardwareProfile>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(directory, "*.json").Order(StringComparer.Ordinal))
        {
            if (Path.GetFileName(file).EndsWith(".schema.json", StringComparison.Ordinal)) continue;
            var profile = TryLoadFile(file, problems);
            if (profile is null) continue;
            if (byModel.TryGetValue(profile.Model, out var existing))
                problems.Add($"{file}: field 'model': \"{profile.Model}\" is already defined in {existing.SourceFile}; model names must be unique.");
            else
                byModel[profile.Model] = profile;
        }
        if (problems.Count > 0) throw new HardwareProfileException(problems);
        return new HardwareProfileCatalog(byModel);
    }

    /// <summary>Loads and validates one file, adding problems to <paramref name="problems"/>; null if invalid.</summary>
    public static HardwareProfile? TryLoadFile(string file, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        string text;
        try { text = File.ReadAllText(file); }
        catch (IOException e) { problems.Add($"{file}: cannot be read: {e.Message}"); return null; }
        catch (UnauthorizedAccessException) { problems.Add($"{file}: permission denied; make it readable by the service user."); return null; }
        return TryParse(file, text, problems);
    }

    /// <summary>Validates and binds profile text; null (with problems added) if invalid.</summary>
    public static HardwareProfile? TryParse(string fileName, string json, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            problems.Add($"{fileName}: not valid JSON at line {e.LineNumber + 1}, position {e.BytePositionInLine + 1}: {e.Message.Split(" LineNumber")[0]} Check for a missing comma, quote or brace.");
            return null;
        }
        using (document)
        {
            var errors = HardwareProfileSchema.Validate(fileName, document.RootElement);
            if (errors.Count > 0) { problems.AddRange(errors); return null; }
            var profile = document.RootElement.Deserialize(ProfileJsonContext.Default.HardwareProfile)!;
            return profile with { SourceFile = fileName };
        }
    }

    public bool TryGet(string model, out HardwareProfile profile) => _byModel.TryGetValue(model, out profile!);

    /// <summary>The profile for <paramref name="model"/> of the expected kind, or an exception that says what exists.</summary>
    public HardwareProfile Get(string model, ProfileKind expected, string usedBy)
    {
        if (!_byModel.TryGetValue(model, out var profile))
            throw new HardwareProfileException([$"{usedBy}: hardware profile \"{model}\" does not exist; known {KindName(expected)} profiles: {string.Join(", ", _byModel.Values.Where(p => p.Kind == expected).Select(p => p.Model))}."]);
        if (profile.Kind != expected)
            throw new HardwareProfileException([$"{usedBy}: hardware profile \"{model}\" is a {KindName(profile.Kind)}, but a {KindName(expected)} is needed here."]);
        return profile;
    }

    public static string KindName(ProfileKind kind) => kind switch
    {
        ProfileKind.OsdpReader => "osdp-reader",
        ProfileKind.ModbusRelayBoard => "modbus-relay-board",
        ProfileKind.ModbusInputModule => "modbus-input-module",
        ProfileKind.LineReader => "line-reader",
        ProfileKind.Turnstile => "turnstile",
        _ => "fire-alarm-input",
    };
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true,
    ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(HardwareProfile))]
internal sealed partial class ProfileJsonContext : JsonSerializerContext;
