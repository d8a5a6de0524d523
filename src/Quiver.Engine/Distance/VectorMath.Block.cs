using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quiver.Distance;

internal static partial class VectorMath
{
    /// <summary>Bytes of rows per cache tile: the tile stays in L2 while every query group sweeps it.
    /// Tuned on Zen 5 (1 MiB L2) with bench/Quiver.Bench.Kernels; see docs/distance-kernels.md.</summary>
    private const int BlockTileBytes = 192 * 1024;

    /// <summary>
    /// Inner products of many queries with many rows, a matrix product Q * X^T:
    /// <c>result[q * rowCount + r] = dot(query q, row r)</c>.
    /// </summary>
    /// <param name="queries">Row-major queries, <paramref name="queryCount"/> * <paramref name="dim"/> floats.</param>
    /// <param name="queryCount">Number of queries; may be 0.</param>
    /// <param name="rows">Row-major rows, <paramref name="rowCount"/> * <paramref name="dim"/> floats.</param>
    /// <param name="rowCount">Number of rows; may be 0.</param>
    /// <param name="dim">Floats per vector; at least 1.</param>
    /// <param name="result">Receives queryCount * rowCount floats, query-major; owned by the caller.</param>
    /// <exception cref="ArgumentException">The shapes disagree.</exception>
    public static void DotBlock(
        ReadOnlySpan<float> queries,
        int queryCount,
        ReadOnlySpan<float> rows,
        int rowCount,
        int dim,
        Span<float> result)
    {
        ValidateBlock(queries, queryCount, rows, rowCount, dim, result);
        BlockCore(
            ref MemoryMarshal.GetReference(queries),
            (nuint)queryCount,
            ref MemoryMarshal.GetReference(rows),
            (nuint)rowCount,
            (nuint)dim,
            ref MemoryMarshal.GetReference(result),
            l2: false,
            ref Unsafe.NullRef<float>(),
            ref Unsafe.NullRef<float>());
    }

    /// <summary>
    /// Squared Euclidean distances of many queries to many rows through
    /// ||q||^2 + ||x||^2 - 2 q.x with precomputed squared norms:
    /// <c>result[q * rowCount + r] = max(0, queryNorms[q] + rowNorms[r] - 2 dot(query q, row r))</c>.
    /// </summary>
    /// <remarks>Cancellation makes this less exact than <see cref="L2SquaredMany"/> for points that are very
    /// close relative to their norms; negatives produced by rounding are clamped to 0.</remarks>
    /// <param name="queries">Row-major queries, <paramref name="queryCount"/> * <paramref name="dim"/> floats.</param>
    /// <param name="queryCount">Number of queries; may be 0.</param>
    /// <param name="queryNorms">Squared norms of the queries (see <see cref="SquaredNorm"/>), queryCount floats.</param>
    /// <param name="rows">Row-major rows, <paramref name="rowCount"/> * <paramref name="dim"/> floats.</param>
    /// <param name="rowCount">Number of rows; may be 0.</param>
    /// <param name="rowNorms">Squared norms of the rows, rowCount floats.</param>
    /// <param name="dim">Floats per vector; at least 1.</param>
    /// <param name="result">Receives queryCount * rowCount floats, query-major; owned by the caller.</param>
    /// <exception cref="ArgumentException">The shapes disagree.</exception>
    public static void L2SquaredBlock(
        ReadOnlySpan<float> queries,
        int queryCount,
        ReadOnlySpan<float> queryNorms,
        ReadOnlySpan<float> rows,
        int rowCount,
        ReadOnlySpan<float> rowNorms,
        int dim,
        Span<float> result)
    {
        ValidateBlock(queries, queryCount, rows, rowCount, dim, result);
        if (queryNorms.Length != queryCount)
        {
            ThrowBadShape(nameof(queryNorms), "There must be one query norm per query.");
        }

        if (rowNorms.Length != rowCount)
        {
            ThrowBadShape(nameof(rowNorms), "There must be one row norm per row.");
        }

        BlockCore(
            ref MemoryMarshal.GetReference(queries),
            (nuint)queryCount,
            ref MemoryMarshal.GetReference(rows),
            (nuint)rowCount,
            (nuint)dim,
            ref MemoryMarshal.GetReference(result),
            l2: true,
            ref MemoryMarshal.GetReference(queryNorms),
            ref MemoryMarshal.GetReference(rowNorms));
    }

    private static void ValidateBlock(
        ReadOnlySpan<float> queries,
        int queryCount,
        ReadOnlySpan<float> rows,
        int rowCount,
        int dim,
        Span<float> result)
    {
        if (dim < 1)
        {
            ThrowBadShape(nameof(dim), "The dimension must be at least 1.");
        }

        if (queryCount < 0 || (long)queryCount * dim != queries.Length)
        {
            ThrowBadShape(nameof(queries), "The queries length must be queryCount * dim.");
        }

        if (rowCount < 0 || (long)rowCount * dim != rows.Length)
        {
            ThrowBadShape(nameof(rows), "The rows length must be rowCount * dim.");
        }

        if ((long)queryCount * rowCount != result.Length)
        {
            ThrowBadShape(nameof(result), "The result length must be queryCount * rowCount.");
        }
    }

    /// <summary>
    /// Walks the rows in L2-sized tiles; within a tile every group of queries sweeps every group of
    /// rows with a register-blocked micro-kernel, so each row is read from memory once per call and
    /// each query group stays in L1 for a whole tile. For L2 the finishing pass runs per tile while
    /// that slice of the result is still in cache.
    /// </summary>
    private static void BlockCore(
        ref float queries,
        nuint queryCount,
        ref float rows,
        nuint rowCount,
        nuint dim,
        ref float result,
        bool l2,
        ref float queryNorms,
        ref float rowNorms)
    {
        if (queryCount == 0 || rowCount == 0)
        {
            return;
        }

        nuint tileRows = (nuint)BlockTileBytes / (dim * sizeof(float));
        tileRows = tileRows < 8 ? 8 : tileRows & ~(nuint)7;

        for (nuint tileStart = 0; tileStart < rowCount; tileStart += tileRows)
        {
            nuint tileCount = rowCount - tileStart < tileRows ? rowCount - tileStart : tileRows;
            ref float tile = ref Unsafe.Add(ref rows, tileStart * dim);
            ref float resultTile = ref Unsafe.Add(ref result, tileStart);

            if (Vector512.IsHardwareAccelerated && dim >= (nuint)Vector512<float>.Count)
            {
                Tile512(ref queries, queryCount, ref tile, tileCount, dim, ref resultTile, rowCount);
            }
            else if (Vector256.IsHardwareAccelerated && dim >= (nuint)Vector256<float>.Count)
            {
                Tile256(ref queries, queryCount, ref tile, tileCount, dim, ref resultTile, rowCount);
            }
            else
            {
                // Short vectors: the one-query kernel already walks the rest of the ladder.
                for (nuint q = 0; q < queryCount; q++)
                {
                    ManyCore<DotOp>(ref Unsafe.Add(ref queries, q * dim), ref tile, dim, tileCount, ref Unsafe.Add(ref resultTile, q * rowCount));
                }
            }

            if (l2)
            {
                for (nuint q = 0; q < queryCount; q++)
                {
                    FinishL2(ref Unsafe.Add(ref resultTile, q * rowCount), ref Unsafe.Add(ref rowNorms, tileStart), Unsafe.Add(ref queryNorms, q), tileCount);
                }
            }
        }
    }

    /// <summary>
    /// Six queries by four rows per micro-kernel call, then a group of four queries by four rows, then
    /// single queries through the one-query kernel; rows left over past a multiple of four go through
    /// the pair kernel.
    /// </summary>
    private static void Tile512(ref float queries, nuint queryCount, ref float tile, nuint tileCount, nuint dim, ref float result, nuint stride)
    {
        nuint q = 0;
        nuint fullRows = tileCount & ~(nuint)3;
        for (; q + 6 <= queryCount; q += 6)
        {
            ref float queryGroup = ref Unsafe.Add(ref queries, q * dim);
            ref float resultGroup = ref Unsafe.Add(ref result, q * stride);
            for (nuint r = 0; r < fullRows; r += 4)
            {
                Micro6x4x512(ref queryGroup, ref Unsafe.Add(ref tile, r * dim), dim, ref Unsafe.Add(ref resultGroup, r), stride);
            }

            LeftoverRows(ref queryGroup, 6, ref tile, fullRows, tileCount, dim, ref resultGroup, stride);
        }

        if (q + 4 <= queryCount)
        {
            ref float queryGroup = ref Unsafe.Add(ref queries, q * dim);
            ref float resultGroup = ref Unsafe.Add(ref result, q * stride);
            for (nuint r = 0; r < fullRows; r += 4)
            {
                Micro4x4x512(ref queryGroup, ref Unsafe.Add(ref tile, r * dim), dim, ref Unsafe.Add(ref resultGroup, r), stride);
            }

            LeftoverRows(ref queryGroup, 4, ref tile, fullRows, tileCount, dim, ref resultGroup, stride);
            q += 4;
        }

        for (; q < queryCount; q++)
        {
            ManyCore<DotOp>(ref Unsafe.Add(ref queries, q * dim), ref tile, dim, tileCount, ref Unsafe.Add(ref result, q * stride));
        }
    }

    /// <summary>Four queries by two rows per call: AVX2 has 16 ymm registers, and 8 accumulators,
    /// two row vectors and a query vector fit without spilling.</summary>
    private static void Tile256(ref float queries, nuint queryCount, ref float tile, nuint tileCount, nuint dim, ref float result, nuint stride)
    {
        nuint q = 0;
        for (; q + 4 <= queryCount; q += 4)
        {
            ref float queryGroup = ref Unsafe.Add(ref queries, q * dim);
            ref float resultGroup = ref Unsafe.Add(ref result, q * stride);
            nuint r = 0;
            for (; r + 2 <= tileCount; r += 2)
            {
                Micro4x2x256(ref queryGroup, ref Unsafe.Add(ref tile, r * dim), dim, ref Unsafe.Add(ref resultGroup, r), stride);
            }

            LeftoverRows(ref queryGroup, 4, ref tile, r, tileCount, dim, ref resultGroup, stride);
        }

        for (; q < queryCount; q++)
        {
            ManyCore<DotOp>(ref Unsafe.Add(ref queries, q * dim), ref tile, dim, tileCount, ref Unsafe.Add(ref result, q * stride));
        }
    }

    private static void LeftoverRows(ref float queryGroup, nuint groupSize, ref float tile, nuint r, nuint tileCount, nuint dim, ref float resultGroup, nuint stride)
    {
        for (; r < tileCount; r++)
        {
            ref float row = ref Unsafe.Add(ref tile, r * dim);
            for (nuint j = 0; j < groupSize; j++)
            {
                Unsafe.Add(ref resultGroup, (j * stride) + r) = Accumulate<DotOp>(ref Unsafe.Add(ref queryGroup, j * dim), ref row, (int)dim);
            }
        }
    }

    /// <summary>
    /// 6 queries x 4 rows, the main micro-kernel: 24 zmm accumulators, each holding 16 lane-partial
    /// sums of one (query, row) pair, plus four row vectors and one query vector, 29 of the 32 zmm
    /// registers. Per step of 16 floats it issues 10 loads for 24 FMAs; each row vector, streamed
    /// from L2, feeds six FMAs. Requires dim &gt;= 16; the tail reloads the last full vector with the
    /// already-summed lanes of the rows masked off.
    /// </summary>
    private static void Micro6x4x512(ref float q0, ref float x0, nuint dim, ref float dst, nuint stride)
    {
        nuint width = (nuint)Vector512<float>.Count;
        ref float x1 = ref Unsafe.Add(ref x0, dim);
        ref float x2 = ref Unsafe.Add(ref x1, dim);
        ref float x3 = ref Unsafe.Add(ref x2, dim);

        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        Vector512<float> c40 = default, c41 = default, c42 = default, c43 = default;
        Vector512<float> c50 = default, c51 = default, c52 = default, c53 = default;

        nuint i = 0;
        Vector512<float> v0, v1, v2, v3, a;
        for (; i + width <= dim; i += width)
        {
            v0 = Vector512.LoadUnsafe(ref x0, i);
            v1 = Vector512.LoadUnsafe(ref x1, i);
            v2 = Vector512.LoadUnsafe(ref x2, i);
            v3 = Vector512.LoadUnsafe(ref x3, i);

            a = Vector512.LoadUnsafe(ref q0, i);
            c00 = Vector512.MultiplyAddEstimate(a, v0, c00);
            c01 = Vector512.MultiplyAddEstimate(a, v1, c01);
            c02 = Vector512.MultiplyAddEstimate(a, v2, c02);
            c03 = Vector512.MultiplyAddEstimate(a, v3, c03);

            a = Vector512.LoadUnsafe(ref q0, i + dim);
            c10 = Vector512.MultiplyAddEstimate(a, v0, c10);
            c11 = Vector512.MultiplyAddEstimate(a, v1, c11);
            c12 = Vector512.MultiplyAddEstimate(a, v2, c12);
            c13 = Vector512.MultiplyAddEstimate(a, v3, c13);

            a = Vector512.LoadUnsafe(ref q0, i + (2 * dim));
            c20 = Vector512.MultiplyAddEstimate(a, v0, c20);
            c21 = Vector512.MultiplyAddEstimate(a, v1, c21);
            c22 = Vector512.MultiplyAddEstimate(a, v2, c22);
            c23 = Vector512.MultiplyAddEstimate(a, v3, c23);

            a = Vector512.LoadUnsafe(ref q0, i + (3 * dim));
            c30 = Vector512.MultiplyAddEstimate(a, v0, c30);
            c31 = Vector512.MultiplyAddEstimate(a, v1, c31);
            c32 = Vector512.MultiplyAddEstimate(a, v2, c32);
            c33 = Vector512.MultiplyAddEstimate(a, v3, c33);

            a = Vector512.LoadUnsafe(ref q0, i + (4 * dim));
            c40 = Vector512.MultiplyAddEstimate(a, v0, c40);
            c41 = Vector512.MultiplyAddEstimate(a, v1, c41);
            c42 = Vector512.MultiplyAddEstimate(a, v2, c42);
            c43 = Vector512.MultiplyAddEstimate(a, v3, c43);

            a = Vector512.LoadUnsafe(ref q0, i + (5 * dim));
            c50 = Vector512.MultiplyAddEstimate(a, v0, c50);
            c51 = Vector512.MultiplyAddEstimate(a, v1, c51);
            c52 = Vector512.MultiplyAddEstimate(a, v2, c52);
            c53 = Vector512.MultiplyAddEstimate(a, v3, c53);
        }

        if (i < dim)
        {
            nuint last = dim - width;
            Vector512<float> mask = TailMask512((int)(i - last));
            v0 = Vector512.LoadUnsafe(ref x0, last) & mask;
            v1 = Vector512.LoadUnsafe(ref x1, last) & mask;
            v2 = Vector512.LoadUnsafe(ref x2, last) & mask;
            v3 = Vector512.LoadUnsafe(ref x3, last) & mask;

            a = Vector512.LoadUnsafe(ref q0, last);
            c00 = Vector512.MultiplyAddEstimate(a, v0, c00);
            c01 = Vector512.MultiplyAddEstimate(a, v1, c01);
            c02 = Vector512.MultiplyAddEstimate(a, v2, c02);
            c03 = Vector512.MultiplyAddEstimate(a, v3, c03);

            a = Vector512.LoadUnsafe(ref q0, last + dim);
            c10 = Vector512.MultiplyAddEstimate(a, v0, c10);
            c11 = Vector512.MultiplyAddEstimate(a, v1, c11);
            c12 = Vector512.MultiplyAddEstimate(a, v2, c12);
            c13 = Vector512.MultiplyAddEstimate(a, v3, c13);

            a = Vector512.LoadUnsafe(ref q0, last + (2 * dim));
            c20 = Vector512.MultiplyAddEstimate(a, v0, c20);
            c21 = Vector512.MultiplyAddEstimate(a, v1, c21);
            c22 = Vector512.MultiplyAddEstimate(a, v2, c22);
            c23 = Vector512.MultiplyAddEstimate(a, v3, c23);

            a = Vector512.LoadUnsafe(ref q0, last + (3 * dim));
            c30 = Vector512.MultiplyAddEstimate(a, v0, c30);
            c31 = Vector512.MultiplyAddEstimate(a, v1, c31);
            c32 = Vector512.MultiplyAddEstimate(a, v2, c32);
            c33 = Vector512.MultiplyAddEstimate(a, v3, c33);

            a = Vector512.LoadUnsafe(ref q0, last + (4 * dim));
            c40 = Vector512.MultiplyAddEstimate(a, v0, c40);
            c41 = Vector512.MultiplyAddEstimate(a, v1, c41);
            c42 = Vector512.MultiplyAddEstimate(a, v2, c42);
            c43 = Vector512.MultiplyAddEstimate(a, v3, c43);

            a = Vector512.LoadUnsafe(ref q0, last + (5 * dim));
            c50 = Vector512.MultiplyAddEstimate(a, v0, c50);
            c51 = Vector512.MultiplyAddEstimate(a, v1, c51);
            c52 = Vector512.MultiplyAddEstimate(a, v2, c52);
            c53 = Vector512.MultiplyAddEstimate(a, v3, c53);
        }

        Reduce4(c00, c01, c02, c03).StoreUnsafe(ref dst);
        Reduce4(c10, c11, c12, c13).StoreUnsafe(ref dst, stride);
        Reduce4(c20, c21, c22, c23).StoreUnsafe(ref dst, 2 * stride);
        Reduce4(c30, c31, c32, c33).StoreUnsafe(ref dst, 3 * stride);
        Reduce4(c40, c41, c42, c43).StoreUnsafe(ref dst, 4 * stride);
        Reduce4(c50, c51, c52, c53).StoreUnsafe(ref dst, 5 * stride);
    }

    /// <summary>4 queries x 4 rows with sixteen zmm accumulators, for the group of four queries left
    /// over after the groups of six. Requires dim &gt;= 16; same masked tail as <see cref="Micro6x4x512"/>.</summary>
    private static void Micro4x4x512(ref float q0, ref float x0, nuint dim, ref float dst, nuint stride)
    {
        nuint width = (nuint)Vector512<float>.Count;
        ref float q1 = ref Unsafe.Add(ref q0, dim);
        ref float q2 = ref Unsafe.Add(ref q1, dim);
        ref float q3 = ref Unsafe.Add(ref q2, dim);
        ref float x1 = ref Unsafe.Add(ref x0, dim);
        ref float x2 = ref Unsafe.Add(ref x1, dim);
        ref float x3 = ref Unsafe.Add(ref x2, dim);

        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;

        nuint i = 0;
        Vector512<float> v0, v1, v2, v3, a;
        for (; i + width <= dim; i += width)
        {
            v0 = Vector512.LoadUnsafe(ref x0, i);
            v1 = Vector512.LoadUnsafe(ref x1, i);
            v2 = Vector512.LoadUnsafe(ref x2, i);
            v3 = Vector512.LoadUnsafe(ref x3, i);

            a = Vector512.LoadUnsafe(ref q0, i);
            c00 = Vector512.MultiplyAddEstimate(a, v0, c00);
            c01 = Vector512.MultiplyAddEstimate(a, v1, c01);
            c02 = Vector512.MultiplyAddEstimate(a, v2, c02);
            c03 = Vector512.MultiplyAddEstimate(a, v3, c03);

            a = Vector512.LoadUnsafe(ref q1, i);
            c10 = Vector512.MultiplyAddEstimate(a, v0, c10);
            c11 = Vector512.MultiplyAddEstimate(a, v1, c11);
            c12 = Vector512.MultiplyAddEstimate(a, v2, c12);
            c13 = Vector512.MultiplyAddEstimate(a, v3, c13);

            a = Vector512.LoadUnsafe(ref q2, i);
            c20 = Vector512.MultiplyAddEstimate(a, v0, c20);
            c21 = Vector512.MultiplyAddEstimate(a, v1, c21);
            c22 = Vector512.MultiplyAddEstimate(a, v2, c22);
            c23 = Vector512.MultiplyAddEstimate(a, v3, c23);

            a = Vector512.LoadUnsafe(ref q3, i);
            c30 = Vector512.MultiplyAddEstimate(a, v0, c30);
            c31 = Vector512.MultiplyAddEstimate(a, v1, c31);
            c32 = Vector512.MultiplyAddEstimate(a, v2, c32);
            c33 = Vector512.MultiplyAddEstimate(a, v3, c33);
        }

        if (i < dim)
        {
            nuint last = dim - width;
            Vector512<float> mask = TailMask512((int)(i - last));
            v0 = Vector512.LoadUnsafe(ref x0, last) & mask;
            v1 = Vector512.LoadUnsafe(ref x1, last) & mask;
            v2 = Vector512.LoadUnsafe(ref x2, last) & mask;
            v3 = Vector512.LoadUnsafe(ref x3, last) & mask;

            a = Vector512.LoadUnsafe(ref q0, last);
            c00 = Vector512.MultiplyAddEstimate(a, v0, c00);
            c01 = Vector512.MultiplyAddEstimate(a, v1, c01);
            c02 = Vector512.MultiplyAddEstimate(a, v2, c02);
            c03 = Vector512.MultiplyAddEstimate(a, v3, c03);

            a = Vector512.LoadUnsafe(ref q1, last);
            c10 = Vector512.MultiplyAddEstimate(a, v0, c10);
            c11 = Vector512.MultiplyAddEstimate(a, v1, c11);
            c12 = Vector512.MultiplyAddEstimate(a, v2, c12);
            c13 = Vector512.MultiplyAddEstimate(a, v3, c13);

            a = Vector512.LoadUnsafe(ref q2, last);
            c20 = Vector512.MultiplyAddEstimate(a, v0, c20);
            c21 = Vector512.MultiplyAddEstimate(a, v1, c21);
            c22 = Vector512.MultiplyAddEstimate(a, v2, c22);
            c23 = Vector512.MultiplyAddEstimate(a, v3, c23);

            a = Vector512.LoadUnsafe(ref q3, last);
            c30 = Vector512.MultiplyAddEstimate(a, v0, c30);
            c31 = Vector512.MultiplyAddEstimate(a, v1, c31);
            c32 = Vector512.MultiplyAddEstimate(a, v2, c32);
            c33 = Vector512.MultiplyAddEstimate(a, v3, c33);
        }

        Reduce4(c00, c01, c02, c03).StoreUnsafe(ref dst);
        Reduce4(c10, c11, c12, c13).StoreUnsafe(ref Unsafe.Add(ref dst, stride));
        Reduce4(c20, c21, c22, c23).StoreUnsafe(ref Unsafe.Add(ref dst, 2 * stride));
        Reduce4(c30, c31, c32, c33).StoreUnsafe(ref Unsafe.Add(ref dst, 3 * stride));
    }

    /// <summary>4 queries x 2 rows with Vector256: eight ymm accumulators. Requires dim &gt;= 8.</summary>
    private static void Micro4x2x256(ref float q0, ref float x0, nuint dim, ref float dst, nuint stride)
    {
        nuint width = (nuint)Vector256<float>.Count;
        ref float q1 = ref Unsafe.Add(ref q0, dim);
        ref float q2 = ref Unsafe.Add(ref q1, dim);
        ref float q3 = ref Unsafe.Add(ref q2, dim);
        ref float x1 = ref Unsafe.Add(ref x0, dim);

        Vector256<float> c00 = default, c01 = default;
        Vector256<float> c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default;

        nuint i = 0;
        Vector256<float> v0, v1, a;
        for (; i + width <= dim; i += width)
        {
            v0 = Vector256.LoadUnsafe(ref x0, i);
            v1 = Vector256.LoadUnsafe(ref x1, i);

            a = Vector256.LoadUnsafe(ref q0, i);
            c00 = Vector256.MultiplyAddEstimate(a, v0, c00);
            c01 = Vector256.MultiplyAddEstimate(a, v1, c01);
            a = Vector256.LoadUnsafe(ref q1, i);
            c10 = Vector256.MultiplyAddEstimate(a, v0, c10);
            c11 = Vector256.MultiplyAddEstimate(a, v1, c11);
            a = Vector256.LoadUnsafe(ref q2, i);
            c20 = Vector256.MultiplyAddEstimate(a, v0, c20);
            c21 = Vector256.MultiplyAddEstimate(a, v1, c21);
            a = Vector256.LoadUnsafe(ref q3, i);
            c30 = Vector256.MultiplyAddEstimate(a, v0, c30);
            c31 = Vector256.MultiplyAddEstimate(a, v1, c31);
        }

        if (i < dim)
        {
            nuint last = dim - width;
            Vector256<float> mask = TailMask256((int)(i - last));
            v0 = Vector256.LoadUnsafe(ref x0, last) & mask;
            v1 = Vector256.LoadUnsafe(ref x1, last) & mask;

            a = Vector256.LoadUnsafe(ref q0, last);
            c00 = Vector256.MultiplyAddEstimate(a, v0, c00);
            c01 = Vector256.MultiplyAddEstimate(a, v1, c01);
            a = Vector256.LoadUnsafe(ref q1, last);
            c10 = Vector256.MultiplyAddEstimate(a, v0, c10);
            c11 = Vector256.MultiplyAddEstimate(a, v1, c11);
            a = Vector256.LoadUnsafe(ref q2, last);
            c20 = Vector256.MultiplyAddEstimate(a, v0, c20);
            c21 = Vector256.MultiplyAddEstimate(a, v1, c21);
            a = Vector256.LoadUnsafe(ref q3, last);
            c30 = Vector256.MultiplyAddEstimate(a, v0, c30);
            c31 = Vector256.MultiplyAddEstimate(a, v1, c31);
        }

        // Sums in order q0r0, q0r1, q1r0, q1r1, then the same for queries 2 and 3.
        Vector128<float> top = Reduce4(c00, c01, c10, c11);
        Vector128<float> bottom = Reduce4(c20, c21, c30, c31);
        Unsafe.Add(ref dst, 0) = top.GetElement(0);
        Unsafe.Add(ref dst, 1) = top.GetElement(1);
        Unsafe.Add(ref dst, stride) = top.GetElement(2);
        Unsafe.Add(ref dst, stride + 1) = top.GetElement(3);
        Unsafe.Add(ref dst, 2 * stride) = bottom.GetElement(0);
        Unsafe.Add(ref dst, (2 * stride) + 1) = bottom.GetElement(1);
        Unsafe.Add(ref dst, 3 * stride) = bottom.GetElement(2);
        Unsafe.Add(ref dst, (3 * stride) + 1) = bottom.GetElement(3);
    }

    /// <summary>dst[r] = max(0, queryNorm + rowNorms[r] - 2 dst[r]) over one query's slice of a tile.</summary>
    private static void FinishL2(ref float dst, ref float rowNorms, float queryNorm, nuint count)
    {
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> qn = Vector512.Create(queryNorm);
            for (; i + (nuint)Vector512<float>.Count <= count; i += (nuint)Vector512<float>.Count)
            {
                Vector512<float> d = Vector512.LoadUnsafe(ref dst, i);
                Vector512<float> v = Vector512.MultiplyAddEstimate(Vector512.Create(-2f), d, qn + Vector512.LoadUnsafe(ref rowNorms, i));
                Vector512.Max(v, Vector512<float>.Zero).StoreUnsafe(ref dst, i);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> qn = Vector256.Create(queryNorm);
            for (; i + (nuint)Vector256<float>.Count <= count; i += (nuint)Vector256<float>.Count)
            {
                Vector256<float> d = Vector256.LoadUnsafe(ref dst, i);
                Vector256<float> v = Vector256.MultiplyAddEstimate(Vector256.Create(-2f), d, qn + Vector256.LoadUnsafe(ref rowNorms, i));
                Vector256.Max(v, Vector256<float>.Zero).StoreUnsafe(ref dst, i);
            }
        }

        if (Vector128.IsHardwareAccelerated)
        {
            Vector128<float> qn = Vector128.Create(queryNorm);
            for (; i + (nuint)Vector128<float>.Count <= count; i += (nuint)Vector128<float>.Count)
            {
                Vector128<float> d = Vector128.LoadUnsafe(ref dst, i);
                Vector128<float> v = Vector128.MultiplyAddEstimate(Vector128.Create(-2f), d, qn + Vector128.LoadUnsafe(ref rowNorms, i));
                Vector128.Max(v, Vector128<float>.Zero).StoreUnsafe(ref dst, i);
            }
        }

        for (; i < count; i++)
        {
            float v = queryNorm + Unsafe.Add(ref rowNorms, i) - (2f * Unsafe.Add(ref dst, i));
            Unsafe.Add(ref dst, i) = v > 0f ? v : 0f;
        }
    }
}
