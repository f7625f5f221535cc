using Kezekshi.Edge.Biometrics.Models;
using Kezekshi.Edge.Biometrics.Onnx;

namespace Kezekshi.Edge.Biometrics.Tests.Models;

/// <summary>Paths of what tools/setup.sh prepares (.cache/ in the repository) and the shared dataset.</summary>
internal static class TestAssets
{
    public static string RepositoryRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Kezekshi.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("Kezekshi.sln not found above " + AppContext.BaseDirectory);
    }

    public static string Cache => Path.Combine(RepositoryRoot, ".cache");

    public static string HumanModels => Path.Combine(Cache, "human-models", "models");

    public static string OrlFaces
    {
        get
        {
            var fromEnv = Environment.GetEnvironmentVariable("KEZEKSHI_ORL_PATH");
            if (!string.IsNullOrEmpty(fromEnv))
                return fromEnv;
            foreach (var candidate in new[] { Path.Combine(RepositoryRoot, "..", "shared", "datasets", "orl-faces"), "/work/shared/datasets/orl-faces" })
            {
                if (Directory.Exists(candidate))
                    return Path.GetFullPath(candidate);
            }
            return Path.Combine(RepositoryRoot, "..", "shared", "datasets", "orl-faces");
        }
    }

    /// <summary>The real ONNX Runtime; a missing library fails the test with the binding's own message (run tools/setup.sh).</summary>
    public static OnnxRuntime Runtime => OnnxRuntime.Load();

    public static ModelManifest Manifest => ModelManifest.Load(Path.Combine(RepositoryRoot, "models", "manifest.json"), Path.Combine(Cache, "models"));
}
