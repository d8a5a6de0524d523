using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quiver.Distance;

internal static partial class VectorMath
{
    /// <summary>Weighted sum of 8-bit codes, <c>sum(weights[i] * codes[i])</c>: the asymmetric (float query, uint8 code)
    /// inner product of scalar quantization, where the weights fold the query into the per-dimension scale.</summary>
    /// <param name="weights">One float per code.</param>
    /// <param name="codes">The codes, same length as <paramref name="weights"/>.</param>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static float DotU8(ReadOnlySpan<float> weights, ReadOnlySpan<byte> codes)
    {
        if (weights.Length != codes.Length)
        {
            ThrowBadShape(nameof(codes), "There must be one code per weight.");
        }

        return DotU8Core(ref MemoryMarshal.GetReference(weights), ref MemoryMarshal.GetReference(codes), (nuint)codes.Length);
    }

    /// <summary><see cref="DotU8"/> of one weight vector with each of many contiguous code rows.</summary>
    /// <param name="weights">One float per dimension, <paramref name="dim"/> floats.</param>
    /// <param name="codes">Row-major code rows, n * <paramref name="dim"/> bytes.</param>
    /// <param name="dim">Codes per row; at least 1.</param>
    /// <param name="results">Receives n sums in row order; length exactly n. Owned by the caller.</param>
    /// <exception cref="ArgumentException">The shapes disagree.</exception>
    public static void DotU8Many(ReadOnlySpan<float> weights, ReadOnlySpan<byte> codes, int dim, Span<float> results)
    {
        if (dim < 1 || weights.Length != dim)
        {
            ThrowBadShape(nameof(weights), "The weights length must equal the dimension, at least 1.");
        }

        if ((long)results.Length * dim != codes.Length)
        {
            ThrowBadShape(nameof(results), "The codes length must be results.Length * dim.");
        }

        ref var w = ref MemoryMarshal.GetReference(weights);
        ref var c = ref MemoryMarshal.GetReference(codes);
        for (var r = 0; r < results.Length; r++)
        {
            results[r] = DotU8Core(ref w, ref Unsafe.Add(ref c, (nint)r * dim), (nuint)dim);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float DotU8Core(ref float w, ref byte c, nuint n)
    {
        nuint i = 0;
        var sum = 0f;
        if (Avx512F.IsSupported && n >= 16)
        {
            var a0 = Vector512<float>.Zero;
            var a1 = Vector512<float>.Zero;
            var a2 = Vector512<float>.Zero;
            var a3 = Vector512<float>.Zero;
            for (; i + 64 <= n; i += 64)
            {
                a0 = Avx512F.FusedMultiplyAdd(Widen16(ref c, i), Vector512.LoadUnsafe(ref w, i), a0);
                a1 = Avx512F.FusedMultiplyAdd(Widen16(ref c, i + 16), Vector512.LoadUnsafe(ref w, i + 16), a1);
                a2 = Avx512F.FusedMultiplyAdd(Widen16(ref c, i + 32), Vector512.LoadUnsafe(ref w, i + 32), a2);
                a3 = Avx512F.FusedMultiplyAdd(Widen16(ref c, i + 48), Vector512.LoadUnsafe(ref w, i + 48), a3);
            }

            for (; i + 16 <= n; i += 16)
            {
                a0 = Avx512F.FusedMultiplyAdd(Widen16(ref c, i), Vector512.LoadUnsafe(ref w, i), a0);
            }

            sum = Vector512.Sum((a0 + a1) + (a2 + a3));
        }
        else if (Avx2.IsSupported && Fma.IsSupported && n >= 8)
        {
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            var a2 = Vector256<float>.Zero;
            var a3 = Vector256<float>.Zero;
            for (; i + 32 <= n; i += 32)
            {
                a0 = Fma.MultiplyAdd(Widen8(ref c, i), Vector256.LoadUnsafe(ref w, i), a0);
                a1 = Fma.MultiplyAdd(Widen8(ref c, i + 8), Vector256.LoadUnsafe(ref w, i + 8), a1);
                a2 = Fma.MultiplyAdd(Widen8(ref c, i + 16), Vector256.LoadUnsafe(ref w, i + 16), a2);
                a3 = Fma.MultiplyAdd(Widen8(ref c, i + 24), Vector256.LoadUnsafe(ref w, i + 24), a3);
            }

            for (; i + 8 <= n; i += 8)
            {
                a0 = Fma.MultiplyAdd(Widen8(ref c, i), Vector256.LoadUnsafe(ref w, i), a0);
            }

            sum = Vector256.Sum((a0 + a1) + (a2 + a3));
        }

        for (; i < n; i++)
        {
            sum += Unsafe.Add(ref w, i) * Unsafe.Add(ref c, i);
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Widen16(ref byte c, nuint i) =>
        Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref c, i)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Widen8(ref byte c, nuint i) =>
        Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref c, i))).AsByte()));
}
