namespace Quiver.Distance;

/// <summary>
/// Plain scalar versions of the <see cref="VectorMath"/> kernels, accumulating in double. They are
/// the oracle for the kernel tests and are not meant for production paths.
/// </summary>
internal static class VectorMathReference
{
    /// <summary>Squared Euclidean distance; lengths must match.</summary>
    public static double L2Squared(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        CheckLengths(a, b);
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (double)a[i] - b[i];
            sum += d * d;
        }

        return sum;
    }

    /// <summary>Inner product; lengths must match.</summary>
    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        CheckLengths(a, b);
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += (double)a[i] * b[i];
        }

        return sum;
    }

    /// <summary>Squared Euclidean norm.</summary>
    public static double SquaredNorm(ReadOnlySpan<float> a) => Dot(a, a);

    /// <summary>Cosine similarity; 0 when either norm is 0.</summary>
    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double normA = SquaredNorm(a);
        double normB = SquaredNorm(b);
        return normA == 0 || normB == 0 ? 0 : Dot(a, b) / (Math.Sqrt(normA) * Math.Sqrt(normB));
    }

    /// <summary>Sum of |a[i] * b[i]| (or of (a[i] - b[i])^2 for L2): the scale of the rounding error
    /// a float32 kernel can make, used by tests to size their tolerance.</summary>
    public static double DotMagnitude(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        CheckLengths(a, b);
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += Math.Abs((double)a[i] * b[i]);
        }

        return sum;
    }

    private static void CheckLengths(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException("The vectors must have the same length.", nameof(b));
        }
    }
}
