using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quiver.Distance;

/// <summary>Popcount kernels of binary vectors, over rows packed as 64-bit words (a BINARY row's engine slots read as
/// <c>ulong</c>, <see cref="VectorCodec.Width(DataType, int)"/>). .NET exposes no VPOPCNTQ, so the AVX-512 path counts
/// 64 bytes at a time with the nibble-table method (VPSHUFB twice, then VPSADBW into 64-bit lanes, Avx512BW); rows shorter
/// than 512 bits and tails go through the scalar POPCNT loop, which is also the reference.</summary>
internal static class BinaryMath
{
    /// <summary>The words of a packed binary row.</summary>
    public static ReadOnlySpan<ulong> Words(ReadOnlySpan<float> slots) => MemoryMarshal.Cast<float, ulong>(slots);

    /// <summary>Number of differing bits (HAMMING).</summary>
    public static int Hamming(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        var i = 0;
        var count = 0;
        if (Avx512BW.IsSupported && a.Length >= 8)
        {
            count = (int)CountVector512(a, b, Xor, ref i);
        }

        for (; i < a.Length; i++)
        {
            count += BitOperations.PopCount(a[i] ^ b[i]);
        }

        return count;
    }

    /// <summary>Bits set in both (intersection) and in either (union), for JACCARD.</summary>
    public static (int And, int Or) AndOr(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        var i = 0;
        int and = 0, or = 0;
        if (Avx512BW.IsSupported && a.Length >= 8)
        {
            var j = 0;
            and = (int)CountVector512(a, b, And, ref i);
            or = (int)CountVector512(a, b, Or, ref j);
        }

        for (; i < a.Length; i++)
        {
            and += BitOperations.PopCount(a[i] & b[i]);
            or += BitOperations.PopCount(a[i] | b[i]);
        }

        return (and, or);
    }

    /// <summary>The key of a row under a binary metric, as Milvus reports it: HAMMING the differing bits, JACCARD
    /// 1 - |a AND b| / |a OR b| (0 for two empty rows).</summary>
    public static float Distance(MetricType metric, ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        if (metric == MetricType.Hamming)
        {
            return Hamming(a, b);
        }

        var (and, or) = AndOr(a, b);
        return or == 0 ? 0f : 1f - ((float)and / or);
    }

    /// <summary>Scalar reference of <see cref="Distance"/>, bit by bit, for the kernel tests.</summary>
    public static float DistanceReference(MetricType metric, ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        int diff = 0, and = 0, or = 0;
        for (var w = 0; w < a.Length; w++)
        {
            for (var bit = 0; bit < 64; bit++)
            {
                var x = (a[w] >> bit) & 1;
                var y = (b[w] >> bit) & 1;
                diff += (int)(x ^ y);
                and += (int)(x & y);
                or += (int)(x | y);
            }
        }

        return metric == MetricType.Hamming ? diff : or == 0 ? 0f : 1f - ((float)and / or);
    }

    private const int Xor = 0;
    private const int And = 1;
    private const int Or = 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long CountVector512(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b, int op, ref int i)
    {
        var lookup = Vector512.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
        var low = Vector512.Create((byte)0x0F);
        var acc = Vector512<ulong>.Zero;
        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        for (; i + 8 <= a.Length; i += 8)
        {
            var x = Vector512.LoadUnsafe(ref ra, (nuint)i);
            var y = Vector512.LoadUnsafe(ref rb, (nuint)i);
            var v = (op switch { Xor => x ^ y, And => x & y, _ => x | y }).AsByte();
            var lo = v & low;
            var hi = Vector512.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & low;
            var counts = Avx512BW.Shuffle(lookup, lo) + Avx512BW.Shuffle(lookup, hi);
            acc += Avx512BW.SumAbsoluteDifferences(counts, Vector512<byte>.Zero).AsUInt64();
        }

        return (long)Vector512.Sum(acc);
    }
}
