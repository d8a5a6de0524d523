using Quiver.Distance;

namespace Quiver.Engine.Tests.Distance;

[Trait("Category", "Kernels")]
public sealed class VectorMathManyTests
{
    public static TheoryData<int> Dims => new() { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 128, 129, 784 };

    [Theory]
    [MemberData(nameof(Dims))]
    public void DotMany_RowCounts0To13_MatchesReference(int dim)
    {
        for (int count = 0; count <= 13; count++)
        {
            ReadOnlySpan<float> query = KernelTestData.Span(dim, dim, offset: 1);
            ReadOnlySpan<float> rows = KernelTestData.Span(500 + count, count * dim, offset: 3);
            var distances = new float[count];
            VectorMath.DotMany(query, rows, dim, distances);
            for (int r = 0; r < count; r++)
            {
                KernelTestData.AssertDot(query, rows.Slice(r * dim, dim), distances[r], $"dim {dim}, count {count}, row {r}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Dims))]
    public void L2SquaredMany_RowCounts0To13_MatchesReference(int dim)
    {
        for (int count = 0; count <= 13; count++)
        {
            ReadOnlySpan<float> query = KernelTestData.Span(dim, dim, offset: 2);
            ReadOnlySpan<float> rows = KernelTestData.Span(500 + count, count * dim, offset: 1);
            var distances = new float[count];
            VectorMath.L2SquaredMany(query, rows, dim, distances);
            for (int r = 0; r < count; r++)
            {
                KernelTestData.AssertL2(query, rows.Slice(r * dim, dim), distances[r], $"dim {dim}, count {count}, row {r}");
            }
        }
    }

    [Theory]
    [InlineData(784, 257)]
    [InlineData(17, 1001)]
    public void Many_ManyRows_MatchesPairKernelsWithinTolerance(int dim, int count)
    {
        float[] query = KernelTestData.Array(1, dim);
        float[] rows = KernelTestData.Array(2, count * dim);
        var dots = new float[count];
        var l2 = new float[count];
        VectorMath.DotMany(query, rows, dim, dots);
        VectorMath.L2SquaredMany(query, rows, dim, l2);
        for (int r = 0; r < count; r++)
        {
            ReadOnlySpan<float> row = rows.AsSpan(r * dim, dim);
            KernelTestData.AssertDot(query, row, dots[r], $"dot row {r}");
            KernelTestData.AssertL2(query, row, l2[r], $"l2 row {r}");
        }
    }

    [Fact]
    public void Many_BadShapes_Throw()
    {
        float[] query = new float[8];
        float[] rows = new float[24];
        Assert.Throws<ArgumentException>(() => VectorMath.DotMany(query, rows, 0, new float[3]));
        Assert.Throws<ArgumentException>(() => VectorMath.DotMany(query, rows, 7, new float[3]));
        Assert.Throws<ArgumentException>(() => VectorMath.DotMany(query, new float[25], 8, new float[3]));
        Assert.Throws<ArgumentException>(() => VectorMath.DotMany(query, rows, 8, new float[2]));
        Assert.Throws<ArgumentException>(() => VectorMath.L2SquaredMany(query, rows, 8, new float[4]));
        Assert.Throws<ArgumentException>(() => VectorMath.L2SquaredMany(new float[9], rows, 8, new float[3]));
    }
}
