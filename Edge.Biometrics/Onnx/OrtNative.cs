using System.Runtime.InteropServices;

namespace Kezekshi.Edge.Biometrics.Onnx;

/// <summary>
/// The ONNX Runtime C API as a table of function pointers (<c>OrtGetApiBase()->GetApi(30)</c>).
/// </summary>
/// <remarks>
/// The C API is a struct of function pointers that only ever grows at the end, so a slot index is
/// stable across releases. The indices below were counted from <c>struct OrtApi</c> in
/// include/onnxruntime/core/session/onnxruntime_c_api.h of microsoft/onnxruntime (the 1.24+ header,
/// whose first 101 slots are unchanged since API version 1): CreateStatus is slot 0, ReleaseEnv 92,
/// ReleaseSessionOptions 100. Only the slots the pipeline needs are bound.
/// </remarks>
internal static unsafe class OrtNative
{
    /// <summary>ORT 1.30 ships C API version 30; asking for it fails cleanly on an older library.</summary>
    public const uint ApiVersion = 30;

    // Slot indices in struct OrtApi (see the remarks above).
    private const int GetErrorMessageSlot = 2;
    private const int CreateEnvSlot = 3;
    private const int CreateSessionSlot = 7;
    private const int CreateSessionFromArraySlot = 8;
    private const int RunSlot = 9;
    private const int CreateSessionOptionsSlot = 10;
    private const int SetSessionGraphOptimizationLevelSlot = 23;
    private const int SetIntraOpNumThreadsSlot = 24;
    private const int SetInterOpNumThreadsSlot = 25;
    private const int SessionGetInputCountSlot = 30;
    private const int SessionGetOutputCountSlot = 31;
    private const int SessionGetInputTypeInfoSlot = 33;
    private const int SessionGetOutputTypeInfoSlot = 34;
    private const int SessionGetInputNameSlot = 36;
    private const int SessionGetOutputNameSlot = 37;
    private const int CreateTensorWithDataAsOrtValueSlot = 49;
    private const int GetTensorMutableDataSlot = 51;
    private const int CastTypeInfoToTensorInfoSlot = 55;
    private const int GetDimensionsCountSlot = 61;
    private const int GetDimensionsSlot = 62;
    private const int GetTensorTypeAndShapeSlot = 65;
    private const int CreateCpuMemoryInfoSlot = 69;
    private const int AllocatorFreeSlot = 76;
    private const int GetAllocatorWithDefaultOptionsSlot = 78;
    private const int ReleaseEnvSlot = 92;
    private const int ReleaseStatusSlot = 93;
    private const int ReleaseMemoryInfoSlot = 94;
    private const int ReleaseSessionSlot = 95;
    private const int ReleaseValueSlot = 96;
    private const int ReleaseTypeInfoSlot = 98;
    private const int ReleaseTensorTypeAndShapeInfoSlot = 99;
    private const int ReleaseSessionOptionsSlot = 100;

    private static readonly Lock _gate = new();
    private static nint _api;
    private static string? _loadedFrom;
    private static string? _version;

    public static string LoadedFrom => _loadedFrom ?? "";

    public static string Version => _version ?? "";

    /// <summary>Loads the library at <paramref name="libraryPath"/> once per process and reads the API table.</summary>
    public static void EnsureLoaded(string libraryPath)
    {
        lock (_gate)
        {
            if (_api != 0)
                return;
            nint library;
            try
            {
                library = NativeLibrary.Load(libraryPath);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                throw new OnnxRuntimeNotFoundException(
                    $"The ONNX Runtime library at {libraryPath} exists but could not be loaded ({e.Message}). " +
                    "It needs 64-bit Linux with glibc 2.28 or newer (or 64-bit Windows). Run tools/setup.sh again to restore it.", e);
            }
            var getApiBase = (delegate* unmanaged<nint>)NativeLibrary.GetExport(library, "OrtGetApiBase");
            var apiBase = getApiBase();
            // struct OrtApiBase { const OrtApi* (*GetApi)(uint32_t); const char* (*GetVersionString)(void); }
            var getApi = (delegate* unmanaged<uint, nint>)Marshal.ReadIntPtr(apiBase, 0);
            var getVersion = (delegate* unmanaged<nint>)Marshal.ReadIntPtr(apiBase, nint.Size);
            var version = Marshal.PtrToStringUTF8(getVersion()) ?? "?";
            var api = getApi(ApiVersion);
            if (api == 0)
            {
                throw new OnnxRuntimeNotFoundException(
                    $"The ONNX Runtime library at {libraryPath} is version {version}, which does not offer C API version {ApiVersion}. " +
                    "Run tools/setup.sh to install ONNX Runtime 1.30 (npm onnxruntime-node@1.30.0).");
            }
            _version = version;
            _loadedFrom = libraryPath;
            _api = api;
        }
    }

    private static nint Slot(int index)
    {
        var api = _api;
        if (api == 0)
            throw new InvalidOperationException("ONNX Runtime is not loaded; open it with OnnxRuntime.Load first.");
        return Marshal.ReadIntPtr(api, index * nint.Size);
    }

    /// <summary>Turns a non-null OrtStatus into an exception carrying ORT's own message, and frees the status.</summary>
    public static void Check(nint status, string doing)
    {
        if (status == 0)
            return;
        var message = Marshal.PtrToStringUTF8(((delegate* unmanaged<nint, nint>)Slot(GetErrorMessageSlot))(status)) ?? "(no message)";
        ((delegate* unmanaged<nint, void>)Slot(ReleaseStatusSlot))(status);
        throw new OnnxRuntimeException($"ONNX Runtime failed while {doing}: {message}");
    }

    public static nint CreateEnv(int logSeverity, string logId)
    {
        nint env;
        var id = Marshal.StringToCoTaskMemUTF8(logId);
        try
        {
            Check(((delegate* unmanaged<int, nint, nint*, nint>)Slot(CreateEnvSlot))(logSeverity, id, &env), "creating the environment");
        }
        finally
        {
            Marshal.FreeCoTaskMem(id);
        }
        return env;
    }

    public static nint CreateSessionOptions()
    {
        nint options;
        Check(((delegate* unmanaged<nint*, nint>)Slot(CreateSessionOptionsSlot))(&options), "creating session options");
        return options;
    }

    public static void SetGraphOptimizationLevel(nint options, int level) =>
        Check(((delegate* unmanaged<nint, int, nint>)Slot(SetSessionGraphOptimizationLevelSlot))(options, level), "setting the graph optimisation level");

    public static void SetIntraOpNumThreads(nint options, int threads) =>
        Check(((delegate* unmanaged<nint, int, nint>)Slot(SetIntraOpNumThreadsSlot))(options, threads), "setting the intra-op thread count");

    public static void SetInterOpNumThreads(nint options, int threads) =>
        Check(((delegate* unmanaged<nint, int, nint>)Slot(SetInterOpNumThreadsSlot))(options, threads), "setting the inter-op thread count");

    public static nint CreateSession(nint env, string modelPath, nint options)
    {
        nint session;
        // ORTCHAR_T is wchar_t on Windows and char (UTF-8) elsewhere.
        var path = OperatingSystem.IsWindows() ? Marshal.StringToHGlobalUni(modelPath) : Marshal.StringToCoTaskMemUTF8(modelPath);
        try
        {
            Check(((delegate* unmanaged<nint, nint, nint, nint*, nint>)Slot(CreateSessionSlot))(env, path, options, &session), $"loading the model {modelPath}");
        }
        finally
        {
            if (OperatingSystem.IsWindows())
                Marshal.FreeHGlobal(path);
            else
                Marshal.FreeCoTaskMem(path);
        }
        return session;
    }

    public static nint CreateSessionFromArray(nint env, ReadOnlySpan<byte> model, nint options, string description)
    {
        nint session;
        fixed (byte* data = model)
        {
            Check(((delegate* unmanaged<nint, byte*, nuint, nint, nint*, nint>)Slot(CreateSessionFromArraySlot))(env, data, (nuint)model.Length, options, &session), $"loading the model {description}");
        }
        return session;
    }

    public static void Run(nint session, nint* inputNames, nint* inputs, int inputCount, nint* outputNames, int outputCount, nint* outputs) =>
        Check(((delegate* unmanaged<nint, nint, nint*, nint*, nuint, nint*, nuint, nint*, nint>)Slot(RunSlot))(session, 0, inputNames, inputs, (nuint)inputCount, outputNames, (nuint)outputCount, outputs), "running the model");

    public static int SessionInputCount(nint session)
    {
        nuint count;
        Check(((delegate* unmanaged<nint, nuint*, nint>)Slot(SessionGetInputCountSlot))(session, &count), "reading the input count");
        return (int)count;
    }

    public static int SessionOutputCount(nint session)
    {
        nuint count;
        Check(((delegate* unmanaged<nint, nuint*, nint>)Slot(SessionGetOutputCountSlot))(session, &count), "reading the output count");
        return (int)count;
    }

    public static string SessionName(nint session, int index, bool input)
    {
        nint allocator;
        Check(((delegate* unmanaged<nint*, nint>)Slot(GetAllocatorWithDefaultOptionsSlot))(&allocator), "getting the default allocator");
        nint name;
        var slot = input ? SessionGetInputNameSlot : SessionGetOutputNameSlot;
        Check(((delegate* unmanaged<nint, nuint, nint, nint*, nint>)Slot(slot))(session, (nuint)index, allocator, &name), "reading a tensor name");
        try
        {
            return Marshal.PtrToStringUTF8(name) ?? "";
        }
        finally
        {
            Check(((delegate* unmanaged<nint, nint, nint>)Slot(AllocatorFreeSlot))(allocator, name), "freeing a tensor name");
        }
    }

    public static long[] SessionShape(nint session, int index, bool input)
    {
        nint typeInfo;
        var slot = input ? SessionGetInputTypeInfoSlot : SessionGetOutputTypeInfoSlot;
        Check(((delegate* unmanaged<nint, nuint, nint*, nint>)Slot(slot))(session, (nuint)index, &typeInfo), "reading a tensor type");
        try
        {
            nint tensorInfo; // owned by typeInfo
            Check(((delegate* unmanaged<nint, nint*, nint>)Slot(CastTypeInfoToTensorInfoSlot))(typeInfo, &tensorInfo), "reading a tensor shape");
            return tensorInfo == 0 ? [] : Dimensions(tensorInfo);
        }
        finally
        {
            ((delegate* unmanaged<nint, void>)Slot(ReleaseTypeInfoSlot))(typeInfo);
        }
    }

    private static long[] Dimensions(nint tensorInfo)
    {
        nuint count;
        Check(((delegate* unmanaged<nint, nuint*, nint>)Slot(GetDimensionsCountSlot))(tensorInfo, &count), "reading a tensor rank");
        var dims = new long[(int)count];
        fixed (long* d = dims)
        {
            Check(((delegate* unmanaged<nint, long*, nuint, nint>)Slot(GetDimensionsSlot))(tensorInfo, d, count), "reading tensor dimensions");
        }
        return dims;
    }

    public static long[] ValueShape(nint value)
    {
        nint info;
        Check(((delegate* unmanaged<nint, nint*, nint>)Slot(GetTensorTypeAndShapeSlot))(value, &info), "reading an output shape");
        try
        {
            return Dimensions(info);
        }
        finally
        {
            ((delegate* unmanaged<nint, void>)Slot(ReleaseTensorTypeAndShapeInfoSlot))(info);
        }
    }

    public static nint CreateCpuMemoryInfo()
    {
        nint info;
        // The tensor memory is ours, so the allocator type only labels it: OrtDeviceAllocator = 0, OrtMemTypeDefault = 0.
        Check(((delegate* unmanaged<int, int, nint*, nint>)Slot(CreateCpuMemoryInfoSlot))(0, 0, &info), "creating CPU memory info");
        return info;
    }

    /// <summary>A float tensor over caller memory; the memory must stay pinned until the value is released.</summary>
    public static nint CreateFloatTensor(nint memoryInfo, float* data, int length, ReadOnlySpan<long> shape)
    {
        nint value;
        fixed (long* s = shape)
        {
            // ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT = 1
            Check(((delegate* unmanaged<nint, void*, nuint, long*, nuint, int, nint*, nint>)Slot(CreateTensorWithDataAsOrtValueSlot))(
                memoryInfo, data, (nuint)(length * sizeof(float)), s, (nuint)shape.Length, 1, &value), "creating an input tensor");
        }
        return value;
    }

    public static float* TensorData(nint value)
    {
        void* data;
        Check(((delegate* unmanaged<nint, void**, nint>)Slot(GetTensorMutableDataSlot))(value, &data), "reading an output tensor");
        return (float*)data;
    }

    public static void ReleaseEnv(nint handle) => ((delegate* unmanaged<nint, void>)Slot(ReleaseEnvSlot))(handle);

    public static void ReleaseSession(nint handle) => ((delegate* unmanaged<nint, void>)Slot(ReleaseSessionSlot))(handle);

    public static void ReleaseSessionOptions(nint handle) => ((delegate* unmanaged<nint, void>)Slot(ReleaseSessionOptionsSlot))(handle);

    public static void ReleaseValue(nint handle) => ((delegate* unmanaged<nint, void>)Slot(ReleaseValueSlot))(handle);

    public static void ReleaseMemoryInfo(nint handle) => ((delegate* unmanaged<nint, void>)Slot(ReleaseMemoryInfoSlot))(handle);

    /// <summary>Where the library file sits for this OS, relative to a folder holding it.</summary>
    public static string LibraryFileName => OperatingSystem.IsWindows() ? "onnxruntime.dll" : "libonnxruntime.so.1";

    /// <summary>The folder tools/setup.sh extracts the library to, below the repository root.</summary>
    public static string SetupCacheFolder => Path.Combine(".cache", "onnxruntime", OperatingSystem.IsWindows() ? "win-x64" : "linux-x64");
}
