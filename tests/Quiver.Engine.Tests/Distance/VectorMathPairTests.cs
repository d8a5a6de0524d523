using Quiver.Distance;

namespace Quiver.Engine.Tests.Distance;

[Trait("Category", "Kernels")]
public sealed class VectorMathPairTests
{
    private const int MaxLength = 300;

    [Fact]
    public void Dot_EveryLengthUpTo300_MatchesReference()
    {
        for (int length = 0; length <= MaxLength; length++)
        {
            ReadOnlySpan<float> a = KernelTestData.Span(length, length);
            ReadOnlySpan<float> b = KernelTestData.Span(1000 + length, length);
            KernelTestData.AssertDot(a, b, VectorMath.Dot(a, b), $"length {length}");
        }
    }

    [Fact]
    public void L2Squared_EveryLengthUpTo300_MatchesReference()
    {
        for (int length = 0; length <= MaxLength; length++)
        {
            ReadOnlySpan<float> a = KernelTestData.Span(length, length);
            ReadOnlySpan<float> b = KernelTestData.Span(1000 + length, length);
            KernelTestData.AssertL2(a, b, VectorMath.L2Squared(a, b), $"length {length}");
        }
    }

    [Fact]
    public void SquaredNorm_EveryLengthUpTo300_MatchesReference()
    {
        for (int length = 0; length <= MaxLength; length++)
        {
            ReadOnlySpan<float> a = KernelTestData.Span(length, length);
            double expected = VectorMathReference.SquaredNorm(a);
            KernelTestData.AssertClose(expected, expected, VectorMath.SquaredNorm(a), $"length {length}");
        }
    }

    [Fact]
    public void Cosine_EveryLengthUpTo300_MatchesReference()
    {
        for (int length = 0; length <= MaxLength; length++)
        {
            ReadOnlySpan<float> a = KernelTestData.Span(length, length);
            ReadOnlySpan<float> b = KernelTestData.Span(1000 + length, length);
            double expected = VectorMathReference.Cosine(a, b);
            float actual = VectorMath.Cosine(a, b);
            Assert.True(Math.Abs(actual - expected) <= 1e-5, $"length {length}: expected {expected:R}, got {actual:R}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void AllPairKernels_MisalignedSpans_MatchReference(int offset)
    {
        for (int length = 0; length <= MaxLength; length += 7)
        {
            ReadOnlySpan<float> a = KernelTestData.Span(length, length, offset);
            ReadOnlySpan<float> b = KernelTestData.Span(1000 + length, length, 4 - offset);
            KernelTestData.AssertDot(a, b, VectorMath.Dot(a, b), $"dot, length {length}");
            KernelTestData.AssertL2(a, b, VectorMath.L2Squared(a, b), $"l2, length {length}");
            double norm = VectorMathReference.SquaredNorm(a);
            KernelTestData.AssertClose(norm, norm, VectorMath.SquaredNorm(a), $"norm, length {length}");
            Assert.True(Math.Abs(VectorMath.Cosine(a, b) - VectorMathReference.Cosine(a, b)) <= 1e-5, $"cosine, length {length}");
        }
    }

    [Fact]
    public void Dot_LargeMagnitudes_StaysWithinRelativeTolerance()
    {
        ReadOnlySpan<float> a = KernelTestData.Span(7, 1531, scale: 1e4f);
        ReadOnlySpan<float> b = KernelTestData.Span(8, 1531, scale: 1e-3f);
        KernelTestData.AssertDot(a, b, VectorMath.Dot(a, b), "scaled dot");
        KernelTestData.AssertL2(a, b, VectorMath.L2Squared(a, b), "scaled l2");
    }

    [Fact]
    public void Cosine_ZeroVector_ReturnsZero()
    {
        var zero = new float[37];
        ReadOnlySpan<float> b = KernelTestData.Span(3, 37);
        Assert.Equal(0f, VectorMath.Cosine(zero, b));
        Assert.Equal(0f, VectorMath.Cosine(b, zero));
        Assert.Equal(0f, VectorMath.Cosine(ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty));
    }

    [Fact]
    public void Cosine_ParallelAndOpposite_ReturnsPlusMinusOne()
    {
        float[] a = KernelTestData.Array(5, 100);
        float[] twice = System.Array.ConvertAll(a, x => x * 2f);
        float[] negated = System.Array.ConvertAll(a, x => -x);
        Assert.Equal(1f, VectorMath.Cosine(a, twice), 5);
        Assert.Equal(-1f, VectorMath.Cosine(a, negated), 5);
    }

    [Fact]
    public void L2Squared_KnownValues_AreExact()
    {
        float[] a = [1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f, 11f, 12f, 13f, 14f, 15f, 16f, 17f];
        float[] b = new float[a.Length];
        Assert.Equal(1785f, VectorMath.L2Squared(a, b));
        Assert.Equal(1785f, VectorMath.SquaredNorm(a));
        Assert.Equal(0f, VectorMath.Dot(a, b));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(16, 17)]
    [InlineData(17, 16)]
    [InlineData(300, 299)]
    public void PairKernels_MismatchedLengths_Throw(int lengthA, int lengthB)
    {
        float[] a = new float[lengthA];
        float[] b = new float[lengthB];
        Assert.Throws<ArgumentException>(() => VectorMath.Dot(a, b));
        Assert.Throws<ArgumentException>(() => VectorMath.L2Squared(a, b));
        Assert.Throws<ArgumentException>(() => VectorMath.Cosine(a, b));
    }
}
