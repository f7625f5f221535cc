namespace Kezekshi.Edge.Biometrics.Storage;

/// <summary>The biometrics store, its key or its audit log could not be used. The message says what to do.</summary>
public sealed class BiometricsStoreException : Exception
{
    public BiometricsStoreException() { }
    public BiometricsStoreException(string message) : base(message) { }
    public BiometricsStoreException(string message, Exception inner) : base(message, inner) { }
}
