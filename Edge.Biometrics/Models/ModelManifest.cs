using System.Security.Cryptography;
using System.Text.Json;
using Kezekshi.Edge.Biometrics.Onnx;

namespace Kezekshi.Edge.Biometrics.Models;

/// <summary>One model named in models/manifest.json.</summary>
/// <param name="Name">The name code refers to (e.g. "mobilefacenet").</param>
/// <param name="Kind">face-detector, face-embedder, palm-detector, hand-landmarks.</param>
/// <param name="File">The .onnx file, relative to the models folder.</param>
/// <param name="Sha256">SHA-256 of the file; loading refuses any other bytes.</param>
/// <param name="Licence">Licence of the weights, shown to whoever deploys them.</param>
/// <param name="Source">Where the weights came from (package@version/path).</param>
public sealed record ModelEntry(string Name, string Kind, string File, string Sha256, string Licence, string Source, string Input, string Normalisation);

/// <summary>A model file is missing, or is not the file the manifest pins.</summary>
public sealed class ModelIntegrityException : Exception
{
    public ModelIntegrityException(string message) : base(message) { }

    public ModelIntegrityException(string message, Exception inner) : base(message, inner) { }

    public ModelIntegrityException() { }
}

/// <summary>
/// The model manifest: which ONNX files exist, their SHA-256 and licence. Models are data: a deployment
/// swaps in another ONNX model by adding an entry and naming it in the options, without code changes.
/// </summary>
public sealed class ModelManifest
{
    /// <summary>Environment variable naming the folder that holds the converted .onnx files.</summary>
    public const string ModelsFolderVariable = "KEZEKSHI_MODELS_PATH";

    private readonly Dictionary<string, ModelEntry> _entries;

    private ModelManifest(string path, string modelsFolder, Dictionary<string, ModelEntry> entries)
    {
        ManifestPath = path;
        ModelsFolder = modelsFolder;
        _entries = entries;
    }

    public string ManifestPath { get; }

    public string ModelsFolder { get; }

    public IReadOnlyCollection<ModelEntry> Entries => _entries.Values;

    /// <summary>Reads a manifest. Without arguments: the repository's models/manifest.json and .cache/models.</summary>
    public static ModelManifest Load(string? manifestPath = null, string? modelsFolder = null)
    {
        manifestPath ??= FindUp(Path.Combine("models", "manifest.json"))
            ?? throw new ModelIntegrityException("models/manifest.json was not found above " + AppContext.BaseDirectory + "; pass its path in the options.");
        modelsFolder ??= Environment.GetEnvironmentVariable(ModelsFolderVariable)
            ?? Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(manifestPath)))!, ".cache", "models");
        if (!File.Exists(manifestPath))
            throw new ModelIntegrityException($"The model manifest {manifestPath} does not exist.");
        var entries = new Dictionary<string, ModelEntry>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(manifestPath));
            foreach (var m in doc.RootElement.GetProperty("models").EnumerateArray())
            {
                var source = m.TryGetProperty("source", out var s) && s.ValueKind == JsonValueKind.Object
                    ? $"{Text(s, "package")}@{Text(s, "version")}/{Text(s, "path")}"
                    : "";
                var entry = new ModelEntry(Text(m, "name"), Text(m, "kind"), Text(m, "file"), Text(m, "sha256"), Text(m, "licence"), source, Text(m, "input"), Text(m, "normalisation"));
                entries[entry.Name] = entry;
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new ModelIntegrityException($"The model manifest {manifestPath} is not valid: {e.Message}", e);
        }
        return new ModelManifest(Path.GetFullPath(manifestPath), Path.GetFullPath(modelsFolder), entries);
    }

    private static string Text(JsonElement e, string property) =>
        e.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

    internal static string? FindUp(string relative)
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, relative);
                if (File.Exists(candidate))
                    return candidate;
            }
        }
        return null;
    }

    public ModelEntry this[string name] => _entries.TryGetValue(name, out var e)
        ? e
        : throw new ModelIntegrityException($"The model {name} is not in {ManifestPath} (it has: {string.Join(", ", _entries.Keys)}). Add an entry or fix the name in the options.");

    /// <summary>The path of the model file after checking its SHA-256 against the manifest.</summary>
    /// <exception cref="ModelIntegrityException">Missing file, or different bytes (tampered or another model).</exception>
    public string VerifiedPath(string name)
    {
        var entry = this[name];
        var path = Path.Combine(ModelsFolder, entry.File);
        if (!File.Exists(path))
            throw new ModelIntegrityException($"The model file {path} ({name}) is missing. Run tools/setup.sh to convert the models, or set {ModelsFolderVariable}.");
        string actual;
        using (var stream = File.OpenRead(path))
            actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        if (!string.Equals(actual, entry.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelIntegrityException(
                $"The model file {path} has SHA-256 {actual}, but {ManifestPath} pins {entry.Sha256} for {name}: it was tampered with or is a different model. " +
                "Run tools/setup.sh to convert it again, or update the manifest if the new model is intended.");
        }
        return path;
    }

    /// <summary>Opens a model after verifying it.</summary>
    public OnnxSession Open(OnnxRuntime runtime, string name, OnnxSessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var path = VerifiedPath(name);
        try
        {
            return runtime.OpenSession(path, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelIntegrityException($"The model {name} ({path}) passed its SHA-256 check but ONNX Runtime cannot load it: {e.Message}", e);
        }
    }
}
