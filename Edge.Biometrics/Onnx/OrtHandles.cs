using System.Runtime.InteropServices;

namespace Kezekshi.Edge.Biometrics.Onnx;

/// <summary>Base for ORT object handles: released once, through the matching OrtApi Release slot.</summary>
internal abstract class OrtHandle : SafeHandle
{
    protected OrtHandle(nint handle) : base(0, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == 0;
}

internal sealed class OrtEnvHandle(nint handle) : OrtHandle(handle)
{
    protected override bool ReleaseHandle()
    {
        OrtNative.ReleaseEnv(handle);
        return true;
    }
}

internal sealed class OrtSessionHandle(nint handle) : OrtHandle(handle)
{
    protected override bool ReleaseHandle()
    {
        OrtNative.ReleaseSession(handle);
        return true;
    }
}

internal sealed class OrtSessionOptionsHandle(nint handle) : OrtHandle(handle)
{
    protected override bool ReleaseHandle()
    {
        OrtNative.ReleaseSessionOptions(handle);
        return true;
    }
}

internal sealed class OrtMemoryInfoHandle(nint handle) : OrtHandle(handle)
{
    protected override bool ReleaseHandle()
    {
        OrtNative.ReleaseMemoryInfo(handle);
        return true;
    }
}
