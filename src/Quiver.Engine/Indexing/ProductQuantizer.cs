using Quiver.Distance;

namespace Quiver.Indexing;

/// <summary>Product quantization (Jégou et al., 2011): a vector of dimension D splits into <see cref="M"/> sub-vectors of
/// <see cref="SubDimension"/> = D / m floats, each replaced by the number of its nearest of <see cref="Ksub"/> =
/// 2^nbits centroids trained by k-means on that subspace. Codebooks are row-major <c>[m][ksub][dsub]</c>. A code takes
/// one byte per sub-vector when nbits ≤ 8, else two (little-endian); codes are not bit-packed.</summary>
internal sealed class ProductQuantizer
{
    private const int TrainIterations = 15;

    public ProductQuantizer(int dimension, int m, int nbits, MappedArray<float> codebooks)
    {
        M = m;
        Nbits = nbits;
        Ksub = 1 << nbits;
        SubDimension = dimension / m;
        Codebooks = codebooks;
    }

    /// <summary>Sub-quantizers (m in Milvus).</summary>
    public int M { get; }

    /// <summary>Bits per sub-code (nbits in Milvus).</summary>
    public int Nbits { get; }

    /// <summary>Centroids per subspace, 2^nbits.</summary>
    public int Ksub { get; }

    public int SubDimension { get; }

    /// <summary>Bytes of one sub-code: 1 up to 8 bits, else 2.</summary>
    public int CodeBytes => Nbits <= 8 ? 1 : 2;

    /// <summary>Bytes of one encoded vector.</summary>
    public int CodeSize => M * CodeBytes;

    public MappedArray<float> Codebooks { get; }

    /// <summary>Trains the codebooks on <paramref name="count"/> row-major vectors of <paramref name="sample"/>.</summary>
    public static ProductQuantizer Train(
        float[] sample, int count, int dimension, int m, int nbits, int seed, int threads, CancellationToken cancellationToken)
    {
        var dsub = dimension / m;
        var ksub = 1 << nbits;
        var codebooks = MappedArray<float>.Allocate(m * ksub * dsub);
        var sub = new float[count * dsub];
        for (var j = 0; j < m; j++)
        {
            for (var i = 0; i < count; i++)
            {
                sample.AsSpan((i * dimension) + (j * dsub), dsub).CopyTo(sub.AsSpan(i * dsub, dsub));
            }

            var trained = KMeans.Train(sub, count, dsub, ksub, TrainIterations, seed + j, threads, cancellationToken);
            trained.CopyTo(codebooks.Array, j * ksub * dsub);
        }

        return new ProductQuantizer(dimension, m, nbits, codebooks);
    }

    /// <summary>Encodes <paramref name="x"/> into <paramref name="code"/> (<see cref="CodeSize"/> bytes);
    /// <paramref name="distances"/> is scratch of <see cref="Ksub"/> floats.</summary>
    public void Encode(ReadOnlySpan<float> x, Span<byte> code, Span<float> distances)
    {
        var books = Codebooks.Span;
        var dsub = SubDimension;
        for (var j = 0; j < M; j++)
        {
            VectorMath.L2SquaredMany(x.Slice(j * dsub, dsub), books.Slice(j * Ksub * dsub, Ksub * dsub), dsub, distances);
            var best = 0;
            for (var c = 1; c < Ksub; c++)
            {
                best = distances[c] < distances[best] ? c : best;
            }

            if (CodeBytes == 1)
            {
                code[j] = (byte)best;
            }
            else
            {
                code[2 * j] = (byte)best;
                code[(2 * j) + 1] = (byte)(best >> 8);
            }
        }
    }

    /// <summary>Writes <c>scale * dot(x_j, y_jc)</c> for every sub-vector j and code c into <paramref name="table"/>
    /// (<c>[m][ksub]</c>).</summary>
    public void InnerProductTable(ReadOnlySpan<float> x, float scale, Span<float> table)
    {
        var books = Codebooks.Span;
        var dsub = SubDimension;
        for (var j = 0; j < M; j++)
        {
            var t = table.Slice(j * Ksub, Ksub);
            VectorMath.DotMany(x.Slice(j * dsub, dsub), books.Slice(j * Ksub * dsub, Ksub * dsub), dsub, t);
            if (scale != 1)
            {
                for (var c = 0; c < t.Length; c++)
                {
                    t[c] *= scale;
                }
            }
        }
    }

    /// <summary>Writes <c>|x_j - y_jc|^2</c> for every sub-vector j and code c into <paramref name="table"/>.</summary>
    public void L2Table(ReadOnlySpan<float> x, Span<float> table)
    {
        var books = Codebooks.Span;
        var dsub = SubDimension;
        for (var j = 0; j < M; j++)
        {
            VectorMath.L2SquaredMany(x.Slice(j * dsub, dsub), books.Slice(j * Ksub * dsub, Ksub * dsub), dsub, table.Slice(j * Ksub, Ksub));
        }
    }
}
