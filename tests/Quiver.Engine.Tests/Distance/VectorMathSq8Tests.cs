using Quiver.Distance;

namespace Quiver.Engine.Tests.Distance;

[Trait("Category", "Kernels")]
public sealed unsafe class VectorMathSq8Tests
{
    private const int MaxLength = 300;

    [Fact]
    public void Sq8WeightedL2_EveryLengthUpTo300_MatchesReference()
    {
        for (int length = 0; length <= MaxLength; length++)
        {
            var (q, w, code) = Inputs(length);
            double expected = 0;
            for (int i = 0; i < length; i++)
            {
                double d = (double)q[i] - code[i];
                expected += w[i] * d * d;
            }

            fixed (float* pq = q)
            fixed (float* pw = w)
            fixed (byte* pc = code)
            {
                KernelTestData.AssertClose(expected, expected, VectorMath.Sq8WeightedL2(pq, pw, pc, length), $"length {length}");
            }
        }
    }

    [Fact]
    public void Sq8Dot_EveryLengthUpTo300_MatchesReference()
    {
        for (int length = 0; length <= MaxLength; length++)
        {
            var (q, _, code) = Inputs(length);
            double expected = 0;
            double magnitude = 0;
            for (int i = 0; i < length; i++)
            {
                expected += (double)q[i] * code[i];
                magnitude += Math.Abs((double)q[i] * code[i]);
            }

            fixed (float* pq = q)
            fixed (byte* pc = code)
            {
                KernelTestData.AssertClose(expected, magnitude, VectorMath.Sq8Dot(pq, pc, length), $"length {length}");
            }
        }
    }

    /// <summary>A query spread over the code range, positive weights and random bytes, all from a fixed seed.</summary>
    private static (float[] Q, float[] W, byte[] Code) Inputs(int length)
    {
        var q = KernelTestData.Array(length, length, scale: 128f);
        var w = KernelTestData.Array(2000 + length, length);
        var code = new byte[Math.Max(1, length)];
        new Random(3000 + length).NextBytes(code);
        for (int i = 0; i < length; i++)
        {
            q[i] += 128f;
            w[i] = Math.Abs(w[i]) + 0.01f;
        }

        return (q, w, code);
    }
}
