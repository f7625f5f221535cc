using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;

namespace Kezekshi.Edge.Biometrics.Onnx;

/// <summary>A model input or output: its name and shape (-1 where the model leaves a dimension free).</summary>
public sealed record OnnxTensorInfo(string Name, long[] Shape);

/// <summary>One float input for <see cref="OnnxSession.Run"/>; the data is pinned only for the call.</summary>
public readonly record struct OnnxInput(string Name, ReadOnlyMemory<float> Data, long[] Shape);

/// <summary>
/// A loaded model. <see cref="Run"/> may be called from several threads at once (ORT allows it).
/// </summary>
public sealed class OnnxSession : IDisposable
{
    private readonly OnnxRuntime _runtime;
    private readonly OrtSessionHandle _session;
    private readonly byte[][] _outputNamesUtf8;

    internal OnnxSession(OnnxRuntime runtime, OrtSessionHandle session, string description)
    {
        _runtime = runtime;
        _session = session;
        Description = description;
        var raw = session.DangerousGetHandle();
        Inputs = [.. Enumerable.Range(0, OrtNative.SessionInputCount(raw)).Select(i => new OnnxTensorInfo(OrtNative.SessionName(raw, i, true), OrtNative.SessionShape(raw, i, true)))];
        Outputs = [.. Enumerable.Range(0, OrtNative.SessionOutputCount(raw)).Select(i => new OnnxTensorInfo(OrtNative.SessionName(raw, i, false), OrtNative.SessionShape(raw, i, false)))];
        _outputNamesUtf8 = [.. Outputs.Select(o => Utf8Z(o.Name))];
    }

    /// <summary>The file or description the model came from, for messages.</summary>
    public string Description { get; }

    public IReadOnlyList<OnnxTensorInfo> Inputs { get; }

    public IReadOnlyList<OnnxTensorInfo> Outputs { get; }

    private static byte[] Utf8Z(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    /// <summary>Runs the model and returns every output, copied into pooled buffers the result owns.</summary>
    /// <exception cref="OnnxRuntimeException">ORT refused the inputs (wrong name, shape) or failed; the message is ORT's.</exception>
    public unsafe OnnxOutputs Run(params ReadOnlySpan<OnnxInput> inputs)
    {
        var n = inputs.Length;
        var m = _outputNamesUtf8.Length;
        var inputNames = new byte[n][];
        var pins = new MemoryHandle[n];
        var inputValues = stackalloc nint[n];
        var inputNamePtrs = stackalloc nint[n];
        var outputValues = stackalloc nint[m];
        var outputNamePtrs = stackalloc nint[m];
        var nameHandles = new GCHandle[n + m];
        var created = 0;
        var addRef = false;
        try
        {
            _session.DangerousAddRef(ref addRef);
            for (var i = 0; i < n; i++)
            {
                var input = inputs[i];
                long expected = 1;
                foreach (var d in input.Shape)
                    expected *= d;
                if (expected != input.Data.Length)
                    throw new ArgumentException($"Input {input.Name}: shape [{string.Join(",", input.Shape)}] holds {expected} values but {input.Data.Length} were given.", nameof(inputs));
                inputNames[i] = Utf8Z(input.Name);
                nameHandles[i] = GCHandle.Alloc(inputNames[i], GCHandleType.Pinned);
                inputNamePtrs[i] = nameHandles[i].AddrOfPinnedObject();
                pins[i] = input.Data.Pin();
                inputValues[i] = OrtNative.CreateFloatTensor(_runtime.CpuMemory, (float*)pins[i].Pointer, input.Data.Length, input.Shape);
                created++;
            }
            for (var j = 0; j < m; j++)
            {
                nameHandles[n + j] = GCHandle.Alloc(_outputNamesUtf8[j], GCHandleType.Pinned);
                outputNamePtrs[j] = nameHandles[n + j].AddrOfPinnedObject();
                outputValues[j] = 0;
            }
            OrtNative.Run(_session.DangerousGetHandle(), inputNamePtrs, inputValues, n, outputNamePtrs, m, outputValues);
            var results = new OnnxOutput[m];
            try
            {
                for (var j = 0; j < m; j++)
                {
                    var shape = OrtNative.ValueShape(outputValues[j]);
                    long count = 1;
                    foreach (var d in shape)
                        count *= d;
                    var buffer = ArrayPool<float>.Shared.Rent((int)count);
                    new ReadOnlySpan<float>(OrtNative.TensorData(outputValues[j]), (int)count).CopyTo(buffer);
                    results[j] = new OnnxOutput(Outputs[j].Name, shape, buffer, (int)count);
                }
            }
            finally
            {
                for (var j = 0; j < m; j++)
                {
                    if (outputValues[j] != 0)
                        OrtNative.ReleaseValue(outputValues[j]);
                }
            }
            return new OnnxOutputs(results);
        }
        finally
        {
            for (var i = 0; i < created; i++)
                OrtNative.ReleaseValue(inputValues[i]);
            for (var i = 0; i < n; i++)
                pins[i].Dispose();
            foreach (var h in nameHandles)
            {
                if (h.IsAllocated)
                    h.Free();
            }
            if (addRef)
                _session.DangerousRelease();
        }
    }

    public void Dispose() => _session.Dispose();
}

/// <summary>One output tensor; its values live in a pooled buffer until the owning <see cref="OnnxOutputs"/> is disposed.</summary>
public sealed class OnnxOutput(string name, long[] shape, float[] buffer, int length)
{
    public string Name { get; } = name;

    public long[] Shape { get; } = shape;

    internal float[] Buffer { get; } = buffer;

    public ReadOnlySpan<float> Values => Buffer.AsSpan(0, length);
}

/// <summary>All outputs of one run; dispose to return the buffers to the pool.</summary>
public sealed class OnnxOutputs(OnnxOutput[] outputs) : IDisposable
{
    private bool _disposed;

    public IReadOnlyList<OnnxOutput> All => outputs;

    public OnnxOutput this[string name] => outputs.FirstOrDefault(o => o.Name == name)
        ?? throw new KeyNotFoundException($"The model has no output named {name}; it has {string.Join(", ", outputs.Select(o => o.Name))}.");

    public OnnxOutput this[int index] => outputs[index];

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        foreach (var o in outputs)
            ArrayPool<float>.Shared.Return(o.Buffer);
    }
}
