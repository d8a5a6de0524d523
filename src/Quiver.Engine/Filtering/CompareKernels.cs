using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quiver.Common;

namespace Quiver.Filtering;

/// <summary>Vectorized <c>column op constant</c> over a numeric column at its stored width: one vector comparison per
/// 32 bytes of values (Vector256, else Vector128), its lanes' signs gathered into the result's 64-bit words, and the tail
/// row by row. The constant is converted to the column's type only where that is exact (an integer inside the type's
/// range, a double that a float holds exactly); otherwise the caller keeps the widening scalar path. Results equal the
/// scalar comparisons of <see cref="NumericComparePredicate"/> on every row, NaN included (tested against them over every
/// length and type).</summary>
internal static class CompareKernels
{
    /// <summary>False without vector hardware, or when a planner override turns the kernels off (benchmarks).</summary>
    private static bool Enabled => Vector128.IsHardwareAccelerated && (Search.SearchPlanner.Override?.FilterKernels ?? true);

    /// <summary>Rows of an integer column of any width against an Int64 constant, or null when vectors are not
    /// accelerated (<see cref="Enabled"/>). A constant outside the type's range gives the same answer for every row.</summary>
    public static Bitmap? IntegerConst<T, TCmp>(int rowCount, ReadOnlySpan<T> xs, long c)
        where T : unmanaged, IBinaryInteger<T>
        where TCmp : struct, ICmp
    {
        if (!Enabled)
        {
            return null;
        }

        var narrowed = T.CreateSaturating(c);
        if (long.CreateTruncating(narrowed) != c)
        {
            // Every value of T lies on the same side of c as 0 does.
            var bits = new Bitmap(rowCount);
            if (TCmp.Long(0, c))
            {
                SetPrefix(bits, Math.Min(rowCount, xs.Length));
            }

            return bits;
        }

        return Fill<T, TCmp>(rowCount, xs, narrowed);
    }

    /// <summary>Rows of a Float or Double column against a double constant, or null when vectors are not accelerated or
    /// a Float column's constant is not exactly a float (then comparing as floats could differ from comparing the
    /// widened values).</summary>
    public static Bitmap? FloatingConst<T, TCmp>(int rowCount, ReadOnlySpan<T> xs, double c)
        where T : unmanaged, IFloatingPoint<T>
        where TCmp : struct, ICmp
    {
        if (!Enabled)
        {
            return null;
        }

        var narrowed = T.CreateTruncating(c);
        return double.CreateTruncating(narrowed) == c ? Fill<T, TCmp>(rowCount, xs, narrowed) : null;
    }

    /// <summary>Bit i set where <c>xs[i] op c</c>, for i below min(rowCount, xs.Length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Bitmap Fill<T, TCmp>(int rowCount, ReadOnlySpan<T> xs, T c)
        where T : unmanaged, INumber<T>
        where TCmp : struct, ICmp
    {
        var bitmap = new Bitmap(rowCount);
        var words = bitmap.Words;
        var n = Math.Min(rowCount, xs.Length);
        ref var x0 = ref MemoryMarshal.GetReference(xs);
        var i = 0;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var cv = Vector256.Create(c);
            var per = Vector256<T>.Count;
            for (; i + 64 <= n; i += 64)
            {
                ulong word = 0;
                for (var j = 0; j < 64; j += per)
                {
                    var v = Vector256.LoadUnsafe(ref x0, (nuint)(i + j));
                    word |= (ulong)TCmp.Vector(v, cv).ExtractMostSignificantBits() << j;
                }

                words[i >> 6] = word;
            }
        }
        else if (Vector128.IsHardwareAccelerated && Vector128<T>.IsSupported)
        {
            var cv = Vector128.Create(c);
            var per = Vector128<T>.Count;
            for (; i + 64 <= n; i += 64)
            {
                ulong word = 0;
                for (var j = 0; j < 64; j += per)
                {
                    var v = Vector128.LoadUnsafe(ref x0, (nuint)(i + j));
                    word |= (ulong)TCmp.Vector(v, cv).ExtractMostSignificantBits() << j;
                }

                words[i >> 6] = word;
            }
        }

        for (; i < n; i++)
        {
            if (TCmp.Scalar(Unsafe.Add(ref x0, i), c))
            {
                words[i >> 6] |= 1UL << i;
            }
        }

        return bitmap;
    }

    private static void SetPrefix(Bitmap bits, int n)
    {
        var words = bits.Words;
        words[..(n >> 6)].Fill(ulong.MaxValue);
        if ((n & 63) != 0)
        {
            words[n >> 6] = (1UL << n) - 1;
        }
    }
}
