using Quiver.Distance;

namespace Quiver.Engine.Tests.Distance;

[Trait("Category", "Kernels")]
public sealed class VectorMathInt8Tests
{
    [Fact]
    public void DotU8_AllLengths0To300_MatchesScalarReference()
    {
        for (var n = 0; n <= 300; n++)
        {
            var weights = KernelTestData.Array(n, n, offset: 1).AsSpan(1, n);
            var codes = Codes(n + 7, n, offset: 3).AsSpan(3, n);
            Assert.Equal(0f, n == 0 ? VectorMath.DotU8(weights, codes) : 0f);
            KernelTestData.AssertClose(Reference(weights, codes, out var magnitude), magnitude, VectorMath.DotU8(weights, codes), $"length {n}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(33)]
    [InlineData(128)]
    [InlineData(784)]
    public void DotU8Many_RowCounts0To9_MatchesReference(int dim)
    {
        for (var count = 0; count <= 9; count++)
        {
            var weights = KernelTestData.Array(dim, dim);
            var codes = Codes(count, count * dim);
            var results = new float[count];
            VectorMath.DotU8Many(weights, codes, dim, results);
            for (var r = 0; r < count; r++)
            {
                var expected = Reference(weights, codes.AsSpan(r * dim, dim), out var magnitude);
                KernelTestData.AssertClose(expected, magnitude, results[r], $"dim {dim}, row {r}");
            }
        }
    }

    [Fact]
    public void DotU8_RejectsMismatchedLengths() =>
        Assert.Throws<ArgumentException>(() => VectorMath.DotU8(new float[3], new byte[4]));

    private static byte[] Codes(int seed, int length, int offset = 0)
    {
        var codes = new byte[length + offset];
        new Random(seed).NextBytes(codes);
        return codes;
    }

    private static double Reference(ReadOnlySpan<float> weights, ReadOnlySpan<byte> codes, out double magnitude)
    {
        double sum = 0;
        magnitude = 0;
        for (var i = 0; i < codes.Length; i++)
        {
            sum += (double)weights[i] * codes[i];
            magnitude += Math.Abs((double)weights[i] * codes[i]);
        }

        return sum;
    }
}
