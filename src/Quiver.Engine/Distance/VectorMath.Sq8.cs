using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quiver.Distance;

/// <summary>Kernels between a float32 query and an 8-bit scalar-quantized code (SQ8: one unsigned byte per dimension).
/// The caller folds the quantizer (per-dimension offset and step) into the query and the weights, so the kernels see only
/// bytes as integers 0..255. They are pointer based because the graph indexes that call them read codes from native or
/// mapped memory on the hottest path; they inline into the caller's loop.</summary>
internal static unsafe partial class VectorMath
{
    /// <summary>Weighted squared distance, sum over i of w[i] * (q[i] - c[i])^2, with the code bytes as integers.</summary>
    /// <param name="q">The prepared query, <paramref name="length"/> floats.</param>
    /// <param name="w">The weights (the square of each dimension's quantization step), <paramref name="length"/> floats.</param>
    /// <param name="code">The code, <paramref name="length"/> bytes.</param>
    /// <param name="length">Dimensions; 0 gives 0. Callers on the hot path pass a multiple of 16 (codes padded with zeros).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sq8WeightedL2(float* q, float* w, byte* code, int length)
    {
        nuint n = (nuint)length;
        nuint i = 0;
        float sum = 0f;
        if (Avx512F.IsSupported && n >= 16)
        {
            Vector512<float> acc0 = Vector512<float>.Zero;
            Vector512<float> acc1 = Vector512<float>.Zero;

            // Two accumulators: the widening and conversion already give the FMAs room; more did not help at d=784.
            for (; i + 32 <= n; i += 32)
            {
                Vector512<float> d0 = Vector512.Load(q + i) - Widen512(code + i);
                Vector512<float> d1 = Vector512.Load(q + i + 16) - Widen512(code + i + 16);
                acc0 = Avx512F.FusedMultiplyAdd(d0 * Vector512.Load(w + i), d0, acc0);
                acc1 = Avx512F.FusedMultiplyAdd(d1 * Vector512.Load(w + i + 16), d1, acc1);
            }

            for (; i + 16 <= n; i += 16)
            {
                Vector512<float> d0 = Vector512.Load(q + i) - Widen512(code + i);
                acc0 = Avx512F.FusedMultiplyAdd(d0 * Vector512.Load(w + i), d0, acc0);
            }

            sum = Vector512.Sum(acc0 + acc1);
        }
        else if (Avx2.IsSupported && Fma.IsSupported && n >= 8)
        {
            Vector256<float> acc0 = Vector256<float>.Zero;
            Vector256<float> acc1 = Vector256<float>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                Vector256<float> d0 = Vector256.Load(q + i) - Widen256(code + i);
                Vector256<float> d1 = Vector256.Load(q + i + 8) - Widen256(code + i + 8);
                acc0 = Fma.MultiplyAdd(d0 * Vector256.Load(w + i), d0, acc0);
                acc1 = Fma.MultiplyAdd(d1 * Vector256.Load(w + i + 8), d1, acc1);
            }

            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> d0 = Vector256.Load(q + i) - Widen256(code + i);
                acc0 = Fma.MultiplyAdd(d0 * Vector256.Load(w + i), d0, acc0);
            }

            sum = Vector256.Sum(acc0 + acc1);
        }

        for (; i < n; i++)
        {
            float d = q[i] - code[i];
            sum += w[i] * d * d;
        }

        return sum;
    }

    /// <summary>Inner product of a prepared query with a code, sum over i of q[i] * c[i], the bytes as integers.</summary>
    /// <param name="q">The prepared query, <paramref name="length"/> floats.</param>
    /// <param name="code">The code, <paramref name="length"/> bytes.</param>
    /// <param name="length">Dimensions; 0 gives 0. Callers on the hot path pass a multiple of 16.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sq8Dot(float* q, byte* code, int length)
    {
        nuint n = (nuint)length;
        nuint i = 0;
        float sum = 0f;
        if (Avx512F.IsSupported && n >= 16)
        {
            Vector512<float> acc0 = Vector512<float>.Zero;
            Vector512<float> acc1 = Vector512<float>.Zero;
            for (; i + 32 <= n; i += 32)
            {
                acc0 = Avx512F.FusedMultiplyAdd(Vector512.Load(q + i), Widen512(code + i), acc0);
                acc1 = Avx512F.FusedMultiplyAdd(Vector512.Load(q + i + 16), Widen512(code + i + 16), acc1);
            }

            for (; i + 16 <= n; i += 16)
            {
                acc0 = Avx512F.FusedMultiplyAdd(Vector512.Load(q + i), Widen512(code + i), acc0);
            }

            sum = Vector512.Sum(acc0 + acc1);
        }
        else if (Avx2.IsSupported && Fma.IsSupported && n >= 8)
        {
            Vector256<float> acc0 = Vector256<float>.Zero;
            Vector256<float> acc1 = Vector256<float>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                acc0 = Fma.MultiplyAdd(Vector256.Load(q + i), Widen256(code + i), acc0);
                acc1 = Fma.MultiplyAdd(Vector256.Load(q + i + 8), Widen256(code + i + 8), acc1);
            }

            for (; i + 8 <= n; i += 8)
            {
                acc0 = Fma.MultiplyAdd(Vector256.Load(q + i), Widen256(code + i), acc0);
            }

            sum = Vector256.Sum(acc0 + acc1);
        }

        for (; i < n; i++)
        {
            sum += q[i] * code[i];
        }

        return sum;
    }

    /// <summary>16 code bytes as floats (vpmovzxbd + vcvtdq2ps).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Widen512(byte* p) =>
        Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(p)));

    /// <summary>8 code bytes as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Widen256(byte* p) =>
        Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(p));
}
