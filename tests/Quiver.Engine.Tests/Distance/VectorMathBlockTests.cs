using Quiver.Distance;

namespace Quiver.Engine.Tests.Distance;

[Trait("Category", "Kernels")]
public sealed class VectorMathBlockTests
{
    public static TheoryData<int> Dims => new() { 1, 3, 8, 16, 17, 128, 784 };

    [Theory]
    [MemberData(nameof(Dims))]
    public void DotBlock_Queries1To11ByRows1To37_MatchesReference(int dim)
    {
        float[] allQueries = KernelTestData.Array(dim, 11 * dim, offset: 1);
        float[] allRows = KernelTestData.Array(dim + 1, 37 * dim, offset: 2);
        for (int queryCount = 1; queryCount <= 11; queryCount++)
        {
            for (int rowCount = 1; rowCount <= 37; rowCount++)
            {
                ReadOnlySpan<float> queries = allQueries.AsSpan(1, queryCount * dim);
                ReadOnlySpan<float> rows = allRows.AsSpan(2, rowCount * dim);
                var result = new float[queryCount * rowCount];
                VectorMath.DotBlock(queries, queryCount, rows, rowCount, dim, result);
                AssertDots(queries, queryCount, rows, rowCount, dim, result);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Dims))]
    public void L2SquaredBlock_Queries1To11ByRows1To37_MatchesReference(int dim)
    {
        float[] allQueries = KernelTestData.Array(10 * dim, 11 * dim, offset: 3);
        float[] allRows = KernelTestData.Array((10 * dim) + 1, 37 * dim, offset: 1);
        for (int queryCount = 1; queryCount <= 11; queryCount++)
        {
            for (int rowCount = 1; rowCount <= 37; rowCount++)
            {
                ReadOnlySpan<float> queries = allQueries.AsSpan(3, queryCount * dim);
                ReadOnlySpan<float> rows = allRows.AsSpan(1, rowCount * dim);
                var result = new float[queryCount * rowCount];
                VectorMath.L2SquaredBlock(queries, queryCount, Norms(queries, queryCount, dim), rows, rowCount, Norms(rows, rowCount, dim), dim, result);
                AssertL2(queries, queryCount, rows, rowCount, dim, result);
            }
        }
    }

    [Theory]
    [InlineData(5, 300, 784)]
    [InlineData(13, 1000, 17)]
    [InlineData(6, 5000, 3)]
    public void Blocks_SeveralCacheTiles_MatchReference(int queryCount, int rowCount, int dim)
    {
        float[] queries = KernelTestData.Array(1, queryCount * dim);
        float[] rows = KernelTestData.Array(2, rowCount * dim);
        var result = new float[queryCount * rowCount];
        VectorMath.DotBlock(queries, queryCount, rows, rowCount, dim, result);
        AssertDots(queries, queryCount, rows, rowCount, dim, result);

        VectorMath.L2SquaredBlock(queries, queryCount, Norms(queries, queryCount, dim), rows, rowCount, Norms(rows, rowCount, dim), dim, result);
        AssertL2(queries, queryCount, rows, rowCount, dim, result);
    }

    [Fact]
    public void L2SquaredBlock_IdenticalVectors_ClampsToZero()
    {
        const int dim = 33;
        float[] vectors = KernelTestData.Array(9, 4 * dim, scale: 100f);
        float[] norms = Norms(vectors, 4, dim);
        var result = new float[16];
        VectorMath.L2SquaredBlock(vectors, 4, norms, vectors, 4, norms, dim, result);
        for (int i = 0; i < 4; i++)
        {
            Assert.True(result[(i * 4) + i] >= 0f);
            Assert.True(result[(i * 4) + i] <= 1e-3f * norms[i], $"self-distance {result[(i * 4) + i]}");
        }
    }

    /// <summary>With no queries or no rows the result is empty; the kernels must not write anywhere, so the empty result
    /// is a slice inside a buffer of sentinels that must come out untouched.</summary>
    [Fact]
    public void Blocks_EmptyInputs_WriteNothing()
    {
        var buffer = new float[16];
        Array.Fill(buffer, float.NaN);
        var rows = KernelTestData.Array(8, 8);
        var norms = Norms(rows, 2, 4);
        VectorMath.DotBlock([], 0, rows, 2, 4, buffer.AsSpan(8, 0));
        VectorMath.DotBlock(rows, 2, [], 0, 4, buffer.AsSpan(8, 0));
        VectorMath.L2SquaredBlock([], 0, [], rows, 2, norms, 4, buffer.AsSpan(8, 0));
        VectorMath.L2SquaredBlock(rows, 2, norms, [], 0, [], 4, buffer.AsSpan(8, 0));
        Assert.All(buffer, value => Assert.True(float.IsNaN(value), "a kernel wrote outside its empty result"));
    }

    [Fact]
    public void Blocks_BadShapes_Throw()
    {
        float[] queries = new float[2 * 4];
        float[] rows = new float[3 * 4];
        Assert.Throws<ArgumentException>(() => VectorMath.DotBlock(queries, 2, rows, 3, 0, new float[6]));
        Assert.Throws<ArgumentException>(() => VectorMath.DotBlock(queries, 3, rows, 3, 4, new float[9]));
        Assert.Throws<ArgumentException>(() => VectorMath.DotBlock(queries, 2, rows, 2, 4, new float[4]));
        Assert.Throws<ArgumentException>(() => VectorMath.DotBlock(queries, 2, rows, 3, 4, new float[5]));
        Assert.Throws<ArgumentException>(() => VectorMath.DotBlock(queries, -1, rows, 3, 4, new float[6]));
        Assert.Throws<ArgumentException>(() => VectorMath.L2SquaredBlock(queries, 2, new float[1], rows, 3, new float[3], 4, new float[6]));
        Assert.Throws<ArgumentException>(() => VectorMath.L2SquaredBlock(queries, 2, new float[2], rows, 3, new float[4], 4, new float[6]));
    }

    private static float[] Norms(ReadOnlySpan<float> vectors, int count, int dim)
    {
        var norms = new float[count];
        for (int i = 0; i < count; i++)
        {
            norms[i] = (float)VectorMathReference.SquaredNorm(vectors.Slice(i * dim, dim));
        }

        return norms;
    }

    private static void AssertDots(ReadOnlySpan<float> queries, int queryCount, ReadOnlySpan<float> rows, int rowCount, int dim, float[] result)
    {
        for (int q = 0; q < queryCount; q++)
        {
            for (int r = 0; r < rowCount; r++)
            {
                KernelTestData.AssertDot(
                    queries.Slice(q * dim, dim),
                    rows.Slice(r * dim, dim),
                    result[(q * rowCount) + r],
                    $"{queryCount}x{rowCount}x{dim}: query {q}, row {r}");
            }
        }
    }

    private static void AssertL2(ReadOnlySpan<float> queries, int queryCount, ReadOnlySpan<float> rows, int rowCount, int dim, float[] result)
    {
        for (int q = 0; q < queryCount; q++)
        {
            for (int r = 0; r < rowCount; r++)
            {
                ReadOnlySpan<float> query = queries.Slice(q * dim, dim);
                ReadOnlySpan<float> row = rows.Slice(r * dim, dim);
                double expected = VectorMathReference.L2Squared(query, row);

                // The norm expansion cancels: its error scales with the norms, not with the distance.
                double scale = VectorMathReference.SquaredNorm(query) + VectorMathReference.SquaredNorm(row);
                KernelTestData.AssertClose(expected, scale, result[(q * rowCount) + r], $"{queryCount}x{rowCount}x{dim}: query {q}, row {r}");
            }
        }
    }
}
