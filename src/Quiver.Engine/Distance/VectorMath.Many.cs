using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quiver.Distance;

internal static partial class VectorMath
{
    /// <summary>Squared Euclidean distance from one query to each of many contiguous rows.</summary>
    /// <param name="query">The query vector, <paramref name="dim"/> floats.</param>
    /// <param name="rows">Row-major rows, n * <paramref name="dim"/> floats (n may be 0).</param>
    /// <param name="dim">Floats per vector; at least 1.</param>
    /// <param name="distances">Receives n distances, row order; must have length exactly n. Owned by the caller.</param>
    /// <exception cref="ArgumentException">The shapes disagree.</exception>
    public static void L2SquaredMany(ReadOnlySpan<float> query, ReadOnlySpan<float> rows, int dim, Span<float> distances)
    {
        int count = ValidateMany(query, rows, dim, distances);
        ManyCore<L2Op>(
            ref MemoryMarshal.GetReference(query),
            ref MemoryMarshal.GetReference(rows),
            (nuint)dim,
            (nuint)count,
            ref MemoryMarshal.GetReference(distances));
    }

    /// <summary>Inner product of one query with each of many contiguous rows.</summary>
    /// <param name="query">The query vector, <paramref name="dim"/> floats.</param>
    /// <param name="rows">Row-major rows, n * <paramref name="dim"/> floats (n may be 0).</param>
    /// <param name="dim">Floats per vector; at least 1.</param>
    /// <param name="distances">Receives n inner products, row order; must have length exactly n. Owned by the caller.</param>
    /// <exception cref="ArgumentException">The shapes disagree.</exception>
    public static void DotMany(ReadOnlySpan<float> query, ReadOnlySpan<float> rows, int dim, Span<float> distances)
    {
        int count = ValidateMany(query, rows, dim, distances);
        ManyCore<DotOp>(
            ref MemoryMarshal.GetReference(query),
            ref MemoryMarshal.GetReference(rows),
            (nuint)dim,
            (nuint)count,
            ref MemoryMarshal.GetReference(distances));
    }

    private static int ValidateMany(ReadOnlySpan<float> query, ReadOnlySpan<float> rows, int dim, Span<float> distances)
    {
        if (dim < 1)
        {
            ThrowBadShape(nameof(dim), "The dimension must be at least 1.");
        }

        if (query.Length != dim)
        {
            ThrowBadShape(nameof(query), "The query length must equal the dimension.");
        }

        if (rows.Length % dim != 0)
        {
            ThrowBadShape(nameof(rows), "The rows length must be a multiple of the dimension.");
        }

        int count = rows.Length / dim;
        if (distances.Length != count)
        {
            ThrowBadShape(nameof(distances), "The output length must equal the number of rows.");
        }

        return count;
    }

    /// <summary>Four rows per pass, one accumulator each, sharing every query load; the remaining
    /// rows go through the pair kernel.</summary>
    private static void ManyCore<TOp>(ref float query, ref float rows, nuint dim, nuint count, ref float dst)
        where TOp : struct, IPairOp
    {
        nuint r = 0;
        if (Vector512.IsHardwareAccelerated && dim >= (nuint)Vector512<float>.Count)
        {
            r = Many4Rows512<TOp>(ref query, ref rows, dim, count, ref dst);
        }
        else if (Vector256.IsHardwareAccelerated && dim >= (nuint)Vector256<float>.Count)
        {
            r = Many4Rows256<TOp>(ref query, ref rows, dim, count, ref dst);
        }
        else if (Vector128.IsHardwareAccelerated && dim >= (nuint)Vector128<float>.Count)
        {
            r = Many4Rows128<TOp>(ref query, ref rows, dim, count, ref dst);
        }

        for (; r < count; r++)
        {
            Unsafe.Add(ref dst, r) = Accumulate<TOp>(ref query, ref Unsafe.Add(ref rows, r * dim), (int)dim);
        }
    }

    /// <summary>Returns the number of rows done (a multiple of 4).</summary>
    private static nuint Many4Rows512<TOp>(ref float query, ref float rows, nuint dim, nuint count, ref float dst)
        where TOp : struct, IPairOp
    {
        nuint width = (nuint)Vector512<float>.Count;
        nuint last = dim - width;
        Vector512<float> tailMask = TailMask512((int)(width - (dim % width)));
        nuint r = 0;
        for (; r + 4 <= count; r += 4)
        {
            ref float row0 = ref Unsafe.Add(ref rows, r * dim);
            ref float row1 = ref Unsafe.Add(ref row0, dim);
            ref float row2 = ref Unsafe.Add(ref row1, dim);
            ref float row3 = ref Unsafe.Add(ref row2, dim);

            PrefetchNextGroup(ref row0, dim);

            Vector512<float> acc0 = Vector512<float>.Zero;
            Vector512<float> acc1 = Vector512<float>.Zero;
            Vector512<float> acc2 = Vector512<float>.Zero;
            Vector512<float> acc3 = Vector512<float>.Zero;
            nuint i = 0;
            for (; i + width <= dim; i += width)
            {
                Vector512<float> q = Vector512.LoadUnsafe(ref query, i);
                acc0 = TOp.Step(acc0, q, Vector512.LoadUnsafe(ref row0, i));
                acc1 = TOp.Step(acc1, q, Vector512.LoadUnsafe(ref row1, i));
                acc2 = TOp.Step(acc2, q, Vector512.LoadUnsafe(ref row2, i));
                acc3 = TOp.Step(acc3, q, Vector512.LoadUnsafe(ref row3, i));
            }

            if (i < dim)
            {
                Vector512<float> q = Vector512.LoadUnsafe(ref query, last) & tailMask;
                acc0 = TOp.Step(acc0, q, Vector512.LoadUnsafe(ref row0, last) & tailMask);
                acc1 = TOp.Step(acc1, q, Vector512.LoadUnsafe(ref row1, last) & tailMask);
                acc2 = TOp.Step(acc2, q, Vector512.LoadUnsafe(ref row2, last) & tailMask);
                acc3 = TOp.Step(acc3, q, Vector512.LoadUnsafe(ref row3, last) & tailMask);
            }

            Reduce4(acc0, acc1, acc2, acc3).StoreUnsafe(ref dst, r);
        }

        return r;
    }

    /// <summary>Returns the number of rows done (a multiple of 4).</summary>
    private static nuint Many4Rows256<TOp>(ref float query, ref float rows, nuint dim, nuint count, ref float dst)
        where TOp : struct, IPairOp
    {
        nuint width = (nuint)Vector256<float>.Count;
        nuint last = dim - width;
        Vector256<float> tailMask = TailMask256((int)(width - (dim % width)));
        nuint r = 0;
        for (; r + 4 <= count; r += 4)
        {
            ref float row0 = ref Unsafe.Add(ref rows, r * dim);
            ref float row1 = ref Unsafe.Add(ref row0, dim);
            ref float row2 = ref Unsafe.Add(ref row1, dim);
            ref float row3 = ref Unsafe.Add(ref row2, dim);
            PrefetchNextGroup(ref row0, dim);

            Vector256<float> acc0 = Vector256<float>.Zero;
            Vector256<float> acc1 = Vector256<float>.Zero;
            Vector256<float> acc2 = Vector256<float>.Zero;
            Vector256<float> acc3 = Vector256<float>.Zero;
            nuint i = 0;
            for (; i + width <= dim; i += width)
            {
                Vector256<float> q = Vector256.LoadUnsafe(ref query, i);
                acc0 = TOp.Step(acc0, q, Vector256.LoadUnsafe(ref row0, i));
                acc1 = TOp.Step(acc1, q, Vector256.LoadUnsafe(ref row1, i));
                acc2 = TOp.Step(acc2, q, Vector256.LoadUnsafe(ref row2, i));
                acc3 = TOp.Step(acc3, q, Vector256.LoadUnsafe(ref row3, i));
            }

            if (i < dim)
            {
                Vector256<float> q = Vector256.LoadUnsafe(ref query, last) & tailMask;
                acc0 = TOp.Step(acc0, q, Vector256.LoadUnsafe(ref row0, last) & tailMask);
                acc1 = TOp.Step(acc1, q, Vector256.LoadUnsafe(ref row1, last) & tailMask);
                acc2 = TOp.Step(acc2, q, Vector256.LoadUnsafe(ref row2, last) & tailMask);
                acc3 = TOp.Step(acc3, q, Vector256.LoadUnsafe(ref row3, last) & tailMask);
            }

            Reduce4(acc0, acc1, acc2, acc3).StoreUnsafe(ref dst, r);
        }

        return r;
    }

    /// <summary>Returns the number of rows done (a multiple of 4).</summary>
    private static nuint Many4Rows128<TOp>(ref float query, ref float rows, nuint dim, nuint count, ref float dst)
        where TOp : struct, IPairOp
    {
        nuint width = (nuint)Vector128<float>.Count;
        nuint last = dim - width;
        Vector128<float> tailMask = TailMask128((int)(width - (dim % width)));
        nuint r = 0;
        for (; r + 4 <= count; r += 4)
        {
            ref float row0 = ref Unsafe.Add(ref rows, r * dim);
            ref float row1 = ref Unsafe.Add(ref row0, dim);
            ref float row2 = ref Unsafe.Add(ref row1, dim);
            ref float row3 = ref Unsafe.Add(ref row2, dim);

            Vector128<float> acc0 = Vector128<float>.Zero;
            Vector128<float> acc1 = Vector128<float>.Zero;
            Vector128<float> acc2 = Vector128<float>.Zero;
            Vector128<float> acc3 = Vector128<float>.Zero;
            nuint i = 0;
            for (; i + width <= dim; i += width)
            {
                Vector128<float> q = Vector128.LoadUnsafe(ref query, i);
                acc0 = TOp.Step(acc0, q, Vector128.LoadUnsafe(ref row0, i));
                acc1 = TOp.Step(acc1, q, Vector128.LoadUnsafe(ref row1, i));
                acc2 = TOp.Step(acc2, q, Vector128.LoadUnsafe(ref row2, i));
                acc3 = TOp.Step(acc3, q, Vector128.LoadUnsafe(ref row3, i));
            }

            if (i < dim)
            {
                Vector128<float> q = Vector128.LoadUnsafe(ref query, last) & tailMask;
                acc0 = TOp.Step(acc0, q, Vector128.LoadUnsafe(ref row0, last) & tailMask);
                acc1 = TOp.Step(acc1, q, Vector128.LoadUnsafe(ref row1, last) & tailMask);
                acc2 = TOp.Step(acc2, q, Vector128.LoadUnsafe(ref row2, last) & tailMask);
                acc3 = TOp.Step(acc3, q, Vector128.LoadUnsafe(ref row3, last) & tailMask);
            }

            Reduce4(acc0, acc1, acc2, acc3).StoreUnsafe(ref dst, r);
        }

        return r;
    }

    /// <summary>
    /// Touches the first cache line of each row of the next group of four. The hardware prefetcher
    /// follows each row once its stream has started, and per-line software prefetches measured
    /// neutral from DRAM and 10-20% slower for cache-resident rows (docs/distance-kernels.md), so
    /// only the stream starts, which may cross a page, are requested early.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchNextGroup(ref float row0, nuint dim)
    {
        if (Sse.IsSupported)
        {
            // Raw pointers, not refs: the address may run past the buffer on the last group, which a
            // prefetch tolerates (it never faults) but a managed ref must not. The buffer is not
            // pinned; if the GC moves it in between, the hint is merely wasted.
            float* next = (float*)Unsafe.AsPointer(ref row0) + (4 * dim);
            Sse.Prefetch0(next);
            Sse.Prefetch0(next + dim);
            Sse.Prefetch0(next + (2 * dim));
            Sse.Prefetch0(next + (3 * dim));
        }
    }

    /// <summary>The horizontal sums of four vectors, in order, as one Vector128.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Reduce4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d) =>
        Reduce4(
            a.GetLower() + a.GetUpper(),
            b.GetLower() + b.GetUpper(),
            c.GetLower() + c.GetUpper(),
            d.GetLower() + d.GetUpper());

    /// <summary>The horizontal sums of four vectors, in order, as one Vector128.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Reduce4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        if (Avx.IsSupported)
        {
            // hadd(hadd(a, b), hadd(c, d)) leaves [a, b, c, d] partial sums in each 128-bit half.
            Vector256<float> sums = Avx.HorizontalAdd(Avx.HorizontalAdd(a, b), Avx.HorizontalAdd(c, d));
            return sums.GetLower() + sums.GetUpper();
        }

        return Reduce4(
            a.GetLower() + a.GetUpper(),
            b.GetLower() + b.GetUpper(),
            c.GetLower() + c.GetUpper(),
            d.GetLower() + d.GetUpper());
    }

    /// <summary>The horizontal sums of four vectors, in order, as one Vector128.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Reduce4(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d)
    {
        if (Sse3.IsSupported)
        {
            return Sse3.HorizontalAdd(Sse3.HorizontalAdd(a, b), Sse3.HorizontalAdd(c, d));
        }

        return Vector128.Create(Vector128.Sum(a), Vector128.Sum(b), Vector128.Sum(c), Vector128.Sum(d));
    }
}
