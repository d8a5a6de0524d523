using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quiver.Distance;

/// <summary>
/// SIMD distance kernels over float32 vectors: one pair, one query against many rows, and many
/// queries against many rows. Every kernel takes the widest hardware-accelerated vector width
/// (Vector512, then Vector256, then Vector128, then scalar), validates its arguments once at entry,
/// allocates nothing and is safe to call from any number of threads at once (it keeps no state).
/// </summary>
/// <remarks>
/// Results are float32 sums accumulated in several independent vector lanes, so they differ from a
/// strictly sequential sum by rounding; <see cref="VectorMathReference"/> is the double-precision oracle.
/// See docs/distance-kernels.md for the dispatch ladder and the blocking scheme.
/// </remarks>
internal static partial class VectorMath
{
    /// <summary>Squared Euclidean distance, sum over i of (a[i] - b[i])^2.</summary>
    /// <param name="a">First vector.</param>
    /// <param name="b">Second vector; must have the same length as <paramref name="a"/>.</param>
    /// <returns>The squared distance; 0 for empty vectors.</returns>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static float L2Squared(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            ThrowLengthMismatch(nameof(b));
        }

        return Accumulate<L2Op>(ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(b), a.Length);
    }

    /// <summary>Inner product, sum over i of a[i] * b[i].</summary>
    /// <param name="a">First vector.</param>
    /// <param name="b">Second vector; must have the same length as <paramref name="a"/>.</param>
    /// <returns>The inner product; 0 for empty vectors.</returns>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            ThrowLengthMismatch(nameof(b));
        }

        return Accumulate<DotOp>(ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(b), a.Length);
    }

    /// <summary>Squared Euclidean norm, sum over i of a[i]^2.</summary>
    /// <param name="a">The vector.</param>
    /// <returns>The squared norm; 0 for an empty vector.</returns>
    public static float SquaredNorm(ReadOnlySpan<float> a)
    {
        ref float start = ref MemoryMarshal.GetReference(a);
        return Accumulate<DotOp>(ref start, ref start, a.Length);
    }

    /// <summary>Cosine similarity, dot(a, b) / (|a| |b|), in [-1, 1] up to rounding.</summary>
    /// <param name="a">First vector.</param>
    /// <param name="b">Second vector; must have the same length as <paramref name="a"/>.</param>
    /// <returns>The cosine; 0 when either vector has norm 0 (including empty vectors).</returns>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static float Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            ThrowLengthMismatch(nameof(b));
        }

        ref float refA = ref MemoryMarshal.GetReference(a);
        ref float refB = ref MemoryMarshal.GetReference(b);
        int length = a.Length;

        // Three passes over data that is in L1 after the first one; callers on the hot path store
        // normalized vectors and use Dot instead.
        float normA = Accumulate<DotOp>(ref refA, ref refA, length);
        float normB = Accumulate<DotOp>(ref refB, ref refB, length);
        if (normA == 0f || normB == 0f)
        {
            return 0f;
        }

        float dot = Accumulate<DotOp>(ref refA, ref refB, length);
        return (float)(dot / (Math.Sqrt(normA) * Math.Sqrt(normB)));
    }

    /// <summary>Sum over i of TOp.Step for one pair of vectors, walking the width ladder.</summary>
    private static float Accumulate<TOp>(ref float a, ref float b, int length)
        where TOp : struct, IPairOp
    {
        nuint n = (nuint)length;
        nuint i = 0;

        if (Vector512.IsHardwareAccelerated && n >= (nuint)Vector512<float>.Count)
        {
            nuint width = (nuint)Vector512<float>.Count;
            Vector512<float> acc0 = Vector512<float>.Zero;
            Vector512<float> acc1 = Vector512<float>.Zero;
            Vector512<float> acc2 = Vector512<float>.Zero;
            Vector512<float> acc3 = Vector512<float>.Zero;

            // Four accumulators: an FMA has a latency of about four cycles and two can issue per cycle.
            for (; i + (4 * width) <= n; i += 4 * width)
            {
                acc0 = TOp.Step(acc0, Vector512.LoadUnsafe(ref a, i), Vector512.LoadUnsafe(ref b, i));
                acc1 = TOp.Step(acc1, Vector512.LoadUnsafe(ref a, i + width), Vector512.LoadUnsafe(ref b, i + width));
                acc2 = TOp.Step(acc2, Vector512.LoadUnsafe(ref a, i + (2 * width)), Vector512.LoadUnsafe(ref b, i + (2 * width)));
                acc3 = TOp.Step(acc3, Vector512.LoadUnsafe(ref a, i + (3 * width)), Vector512.LoadUnsafe(ref b, i + (3 * width)));
            }

            for (; i + width <= n; i += width)
            {
                acc0 = TOp.Step(acc0, Vector512.LoadUnsafe(ref a, i), Vector512.LoadUnsafe(ref b, i));
            }

            if (i < n)
            {
                // Reload the last full vector and zero the lanes that were already summed.
                nuint last = n - width;
                Vector512<float> mask = TailMask512((int)(i - last));
                acc1 = TOp.Step(acc1, Vector512.LoadUnsafe(ref a, last) & mask, Vector512.LoadUnsafe(ref b, last) & mask);
            }

            return Vector512.Sum((acc0 + acc1) + (acc2 + acc3));
        }

        if (Vector256.IsHardwareAccelerated && n >= (nuint)Vector256<float>.Count)
        {
            nuint width = (nuint)Vector256<float>.Count;
            Vector256<float> acc0 = Vector256<float>.Zero;
            Vector256<float> acc1 = Vector256<float>.Zero;
            Vector256<float> acc2 = Vector256<float>.Zero;
            Vector256<float> acc3 = Vector256<float>.Zero;

            for (; i + (4 * width) <= n; i += 4 * width)
            {
                acc0 = TOp.Step(acc0, Vector256.LoadUnsafe(ref a, i), Vector256.LoadUnsafe(ref b, i));
                acc1 = TOp.Step(acc1, Vector256.LoadUnsafe(ref a, i + width), Vector256.LoadUnsafe(ref b, i + width));
                acc2 = TOp.Step(acc2, Vector256.LoadUnsafe(ref a, i + (2 * width)), Vector256.LoadUnsafe(ref b, i + (2 * width)));
                acc3 = TOp.Step(acc3, Vector256.LoadUnsafe(ref a, i + (3 * width)), Vector256.LoadUnsafe(ref b, i + (3 * width)));
            }

            for (; i + width <= n; i += width)
            {
                acc0 = TOp.Step(acc0, Vector256.LoadUnsafe(ref a, i), Vector256.LoadUnsafe(ref b, i));
            }

            if (i < n)
            {
                nuint last = n - width;
                Vector256<float> mask = TailMask256((int)(i - last));
                acc1 = TOp.Step(acc1, Vector256.LoadUnsafe(ref a, last) & mask, Vector256.LoadUnsafe(ref b, last) & mask);
            }

            return Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
        }

        if (Vector128.IsHardwareAccelerated && n >= (nuint)Vector128<float>.Count)
        {
            nuint width = (nuint)Vector128<float>.Count;
            Vector128<float> acc0 = Vector128<float>.Zero;
            Vector128<float> acc1 = Vector128<float>.Zero;
            Vector128<float> acc2 = Vector128<float>.Zero;
            Vector128<float> acc3 = Vector128<float>.Zero;

            for (; i + (4 * width) <= n; i += 4 * width)
            {
                acc0 = TOp.Step(acc0, Vector128.LoadUnsafe(ref a, i), Vector128.LoadUnsafe(ref b, i));
                acc1 = TOp.Step(acc1, Vector128.LoadUnsafe(ref a, i + width), Vector128.LoadUnsafe(ref b, i + width));
                acc2 = TOp.Step(acc2, Vector128.LoadUnsafe(ref a, i + (2 * width)), Vector128.LoadUnsafe(ref b, i + (2 * width)));
                acc3 = TOp.Step(acc3, Vector128.LoadUnsafe(ref a, i + (3 * width)), Vector128.LoadUnsafe(ref b, i + (3 * width)));
            }

            for (; i + width <= n; i += width)
            {
                acc0 = TOp.Step(acc0, Vector128.LoadUnsafe(ref a, i), Vector128.LoadUnsafe(ref b, i));
            }

            if (i < n)
            {
                nuint last = n - width;
                Vector128<float> mask = TailMask128((int)(i - last));
                acc1 = TOp.Step(acc1, Vector128.LoadUnsafe(ref a, last) & mask, Vector128.LoadUnsafe(ref b, last) & mask);
            }

            return Vector128.Sum((acc0 + acc1) + (acc2 + acc3));
        }

        float sum = 0f;
        for (; i < n; i++)
        {
            sum = TOp.Step(sum, Unsafe.Add(ref a, i), Unsafe.Add(ref b, i));
        }

        return sum;
    }

    /// <summary>All-ones in lanes at index <paramref name="skip"/> and above, zero below.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> TailMask512(int skip) =>
        Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create(skip)).AsSingle();

    /// <summary>All-ones in lanes at index <paramref name="skip"/> and above, zero below.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> TailMask256(int skip) =>
        Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create(skip)).AsSingle();

    /// <summary>All-ones in lanes at index <paramref name="skip"/> and above, zero below.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> TailMask128(int skip) =>
        Vector128.GreaterThanOrEqual(Vector128<int>.Indices, Vector128.Create(skip)).AsSingle();

    [DoesNotReturn]
    private static void ThrowLengthMismatch(string paramName) =>
        throw new ArgumentException("The vectors must have the same length.", paramName);

    [DoesNotReturn]
    private static void ThrowBadShape(string paramName, string message) =>
        throw new ArgumentException(message, paramName);

    /// <summary>One accumulation step of a pair kernel, at every vector width; a struct so that the
    /// JIT specializes each kernel per operation with no call in the loop.</summary>
    private interface IPairOp
    {
        static abstract Vector512<float> Step(Vector512<float> acc, Vector512<float> a, Vector512<float> b);

        static abstract Vector256<float> Step(Vector256<float> acc, Vector256<float> a, Vector256<float> b);

        static abstract Vector128<float> Step(Vector128<float> acc, Vector128<float> a, Vector128<float> b);

        static abstract float Step(float acc, float a, float b);
    }

    /// <summary>acc + a * b, fused where the hardware has FMA.</summary>
    private readonly struct DotOp : IPairOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Step(Vector512<float> acc, Vector512<float> a, Vector512<float> b) =>
            Vector512.MultiplyAddEstimate(a, b, acc);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Step(Vector256<float> acc, Vector256<float> a, Vector256<float> b) =>
            Vector256.MultiplyAddEstimate(a, b, acc);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Step(Vector128<float> acc, Vector128<float> a, Vector128<float> b) =>
            Vector128.MultiplyAddEstimate(a, b, acc);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Step(float acc, float a, float b) => acc + (a * b);
    }

    /// <summary>acc + (a - b)^2, fused where the hardware has FMA.</summary>
    private readonly struct L2Op : IPairOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Step(Vector512<float> acc, Vector512<float> a, Vector512<float> b)
        {
            Vector512<float> d = a - b;
            return Vector512.MultiplyAddEstimate(d, d, acc);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Step(Vector256<float> acc, Vector256<float> a, Vector256<float> b)
        {
            Vector256<float> d = a - b;
            return Vector256.MultiplyAddEstimate(d, d, acc);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Step(Vector128<float> acc, Vector128<float> a, Vector128<float> b)
        {
            Vector128<float> d = a - b;
            return Vector128.MultiplyAddEstimate(d, d, acc);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Step(float acc, float a, float b)
        {
            float d = a - b;
            return acc + (d * d);
        }
    }
}
