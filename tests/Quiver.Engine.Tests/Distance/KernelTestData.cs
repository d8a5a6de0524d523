using Quiver.Distance;

namespace Quiver.Engine.Tests.Distance;

/// <summary>Seeded inputs and tolerance checks shared by the kernel tests.</summary>
internal static class KernelTestData
{
    /// <summary>Floats uniform in [-scale, scale), from a fixed seed, placed <paramref name="offset"/>
    /// floats into a larger array so that the span does not start at the array's alignment.</summary>
    public static float[] Array(int seed, int length, int offset = 0, float scale = 1f)
    {
        var random = new Random(seed);
        var values = new float[length + offset];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)((random.NextDouble() * 2) - 1) * scale;
        }

        return values;
    }

    public static ReadOnlySpan<float> Span(int seed, int length, int offset = 0, float scale = 1f) =>
        Array(seed, length, offset, scale).AsSpan(offset, length);

    /// <summary>Float32 sums are checked against the double reference relative to the sum of
    /// absolute terms: a kernel that drops or doubles one element misses by about magnitude / n,
    /// far above this bound, while honest rounding stays well inside it.</summary>
    public static void AssertClose(double expected, double magnitude, float actual, string because)
    {
        double tolerance = (1e-4 * Math.Abs(expected)) + (2e-6 * magnitude) + 1e-6;
        double error = Math.Abs(actual - expected);
        Assert.True(
            error <= tolerance,
            $"{because}: expected {expected:R}, got {actual:R} (error {error:E3} > tolerance {tolerance:E3})");
    }

    public static void AssertDot(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float actual, string because) =>
        AssertClose(VectorMathReference.Dot(a, b), VectorMathReference.DotMagnitude(a, b), actual, because);

    public static void AssertL2(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float actual, string because)
    {
        double expected = VectorMathReference.L2Squared(a, b);
        AssertClose(expected, expected, actual, because);
    }
}
