namespace Kezekshi.Edge.Biometrics.Onnx;

/// <summary>ONNX Runtime refused something; the message carries ORT's own text.</summary>
public class OnnxRuntimeException : Exception
{
    public OnnxRuntimeException(string message) : base(message) { }

    public OnnxRuntimeException(string message, Exception inner) : base(message, inner) { }

    public OnnxRuntimeException() { }
}

/// <summary>The ONNX Runtime library is missing or unusable; the message names the path and the fix.</summary>
public sealed class OnnxRuntimeNotFoundException : OnnxRuntimeException
{
    public OnnxRuntimeNotFoundException(string message) : base(message) { }

    public OnnxRuntimeNotFoundException(string message, Exception inner) : base(message, inner) { }

    public OnnxRuntimeNotFoundException() { }
}
