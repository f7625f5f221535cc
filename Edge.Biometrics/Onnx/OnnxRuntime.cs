namespace Kezekshi.Edge.Biometrics.Onnx;

/// <summary>Where to find the ONNX Runtime library.</summary>
public sealed record OnnxRuntimeOptions
{
    /// <summary>
    /// A folder holding <c>libonnxruntime.so.1</c> (Linux) or <c>onnxruntime.dll</c> (Windows). When empty:
    /// the environment variable <c>KEZEKSHI_ORT_PATH</c> (folder or file), then the folder tools/setup.sh fills
    /// (<c>.cache/onnxruntime/linux-x64</c> in the repository, searched upwards from the program), then next to the program.
    /// </summary>
    public string? LibraryFolder { get; init; }
}

/// <summary>Graph optimisation levels, as ORT's <c>GraphOptimizationLevel</c>.</summary>
public enum OnnxGraphOptimization
{
    None = 0,
    Basic = 1,
    Extended = 2,
    All = 99,
}

/// <summary>Per-session settings.</summary>
/// <param name="IntraOpThreads">Threads inside one operator; the gate PC has few cores, and the pipeline runs one frame at a time.</param>
/// <param name="Optimization">ORT's graph optimisation level.</param>
public sealed record OnnxSessionOptions(int IntraOpThreads = 1, OnnxGraphOptimization Optimization = OnnxGraphOptimization.All);

/// <summary>
/// The ONNX Runtime library loaded into this process, and its one environment. Sessions come from here.
/// </summary>
/// <remarks>
/// ORT allows one environment per process, and a native library cannot be unloaded safely while
/// sessions live, so the first successful <see cref="Load"/> wins and later calls reuse it.
/// </remarks>
public sealed class OnnxRuntime
{
    /// <summary>The environment variable that points at the library (a folder or the file itself).</summary>
    public const string PathVariable = "KEZEKSHI_ORT_PATH";

    private static readonly Lock _gate = new();
    private static OnnxRuntime? _instance;

    private readonly OrtEnvHandle _env;
    private readonly OrtMemoryInfoHandle _cpuMemory;

    private OnnxRuntime(OrtEnvHandle env, OrtMemoryInfoHandle cpuMemory)
    {
        _env = env;
        _cpuMemory = cpuMemory;
    }

    /// <summary>The ORT version string the library reports (e.g. "1.30.0").</summary>
    public static string Version => OrtNative.Version;

    /// <summary>The file the library was loaded from.</summary>
    public static string LibraryPath => OrtNative.LoadedFrom;

    internal nint CpuMemory => _cpuMemory.DangerousGetHandle();

    /// <summary>Loads the library (once per process) and creates the environment.</summary>
    /// <exception cref="OnnxRuntimeNotFoundException">The library is not where it was looked for.</exception>
    public static OnnxRuntime Load(OnnxRuntimeOptions? options = null)
    {
        var path = LocateLibrary(options ?? new OnnxRuntimeOptions());
        lock (_gate)
        {
            if (_instance is not null)
                return _instance;
            OrtNative.EnsureLoaded(path);
            // ORT_LOGGING_LEVEL_ERROR = 3: warnings about unused initialisers would only be noise on the gate PC's log.
            var env = new OrtEnvHandle(OrtNative.CreateEnv(3, "kezekshi"));
            var memory = new OrtMemoryInfoHandle(OrtNative.CreateCpuMemoryInfo());
            _instance = new OnnxRuntime(env, memory);
            return _instance;
        }
    }

    /// <summary>Finds the library file, or throws a message that names where it looked and what to run.</summary>
    public static string LocateLibrary(OnnxRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var file = OrtNative.LibraryFileName;
        if (!string.IsNullOrWhiteSpace(options.LibraryFolder))
        {
            var path = Path.GetFullPath(Path.Combine(options.LibraryFolder, file));
            return File.Exists(path) ? path : throw NotFound(path, "the configured folder");
        }
        var variable = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrWhiteSpace(variable))
        {
            var path = Directory.Exists(variable) ? Path.Combine(variable, file) : variable;
            path = Path.GetFullPath(path);
            return File.Exists(path) ? path : throw NotFound(path, $"the {PathVariable} environment variable");
        }
        var tried = new List<string>();
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, OrtNative.SetupCacheFolder, file);
                if (File.Exists(candidate))
                    return candidate;
                if (File.Exists(Path.Combine(dir.FullName, "Kezekshi.sln")))
                {
                    tried.Add(candidate);
                    break;
                }
            }
        }
        var beside = Path.Combine(AppContext.BaseDirectory, file);
        if (File.Exists(beside))
            return beside;
        tried.Add(beside);
        throw NotFound(string.Join(" or ", tried.Distinct()), "the default locations");
    }

    private static OnnxRuntimeNotFoundException NotFound(string path, string source) => new(
        $"The ONNX Runtime library was not found at {path} ({source}). Run tools/setup.sh, which downloads ONNX Runtime 1.30 " +
        $"(npm onnxruntime-node) into .cache/onnxruntime, or set {PathVariable} to the folder holding {OrtNative.LibraryFileName}.");

    /// <summary>Opens a model file.</summary>
    public OnnxSession OpenSession(string modelPath, OnnxSessionOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        if (!File.Exists(modelPath))
            throw new FileNotFoundException($"The model file {modelPath} does not exist. Run tools/setup.sh to convert the models.", modelPath);
        using var sessionOptions = CreateOptions(options ?? new OnnxSessionOptions());
        var session = new OrtSessionHandle(OrtNative.CreateSession(_env.DangerousGetHandle(), modelPath, sessionOptions.DangerousGetHandle()));
        return new OnnxSession(this, session, modelPath);
    }

    /// <summary>Opens a model held in memory (tests build small models this way).</summary>
    public OnnxSession OpenSession(ReadOnlySpan<byte> model, string description, OnnxSessionOptions? options = null)
    {
        using var sessionOptions = CreateOptions(options ?? new OnnxSessionOptions());
        var session = new OrtSessionHandle(OrtNative.CreateSessionFromArray(_env.DangerousGetHandle(), model, sessionOptions.DangerousGetHandle(), description));
        return new OnnxSession(this, session, description);
    }

    private static OrtSessionOptionsHandle CreateOptions(OnnxSessionOptions options)
    {
        var handle = new OrtSessionOptionsHandle(OrtNative.CreateSessionOptions());
        try
        {
            var raw = handle.DangerousGetHandle();
            OrtNative.SetIntraOpNumThreads(raw, options.IntraOpThreads);
            OrtNative.SetInterOpNumThreads(raw, 1);
            OrtNative.SetGraphOptimizationLevel(raw, (int)options.Optimization);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }
}
