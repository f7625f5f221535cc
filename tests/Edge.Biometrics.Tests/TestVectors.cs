using System.Numerics.Tensors;

namespace Kezekshi.Edge.Biometrics.Tests;

/// <summary>Seeded random unit vectors: "people" and noisy re-captures of them.</summary>
internal static class TestVectors
{
    public static float[] Unit(Random random, int dimensions)
    {
        var v = new float[dimensions];
        for (int i = 0; i < v.Length; i++)
            v[i] = (float)(random.NextDouble() * 2 - 1);
        Normalise(v);
        return v;
    }

    /// <summary>A re-capture of <paramref name="identity"/>: the same direction plus noise of the given size, normalised.</summary>
    public static float[] Near(float[] identity, Random random, float noise)
    {
        var v = new float[identity.Length];
        var n = Unit(random, identity.Length);
        for (int i = 0; i < v.Length; i++)
            v[i] = identity[i] + noise * n[i];
        Normalise(v);
        return v;
    }

    public static void Normalise(float[] v)
    {
        float norm = TensorPrimitives.Norm(v);
        TensorPrimitives.Divide(v, norm, v);
    }
}
