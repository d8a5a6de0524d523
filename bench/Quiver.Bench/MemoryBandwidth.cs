using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quiver.Bench;

/// <summary>Single-thread read bandwidth: a SIMD sum over a large float array (far larger than the caches), best of
/// several passes, each pass trying one sequential stream and four interleaved streams (one per quarter of the array;
/// on some machines one core pulls much more from memory with several streams in flight). The best is the floor for a
/// FLAT query, which must stream every stored vector once.</summary>
internal static class MemoryBandwidth
{
    /// <summary>Returns bytes per second (best pass) and the sum (so the work cannot be elided).</summary>
    public static (double BytesPerSecond, float Sum) Measure(long bytes, int passes)
    {
        var data = GC.AllocateUninitializedArray<float>(checked((int)(bytes / sizeof(float))));
        // Touch and fill every page first so the passes read memory, not page faults or zero pages.
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = i & 7;
        }

        var best = double.MaxValue;
        var sum = 0f;
        for (var p = 0; p < passes; p++)
        {
            var start = Stopwatch.GetTimestamp();
            sum += Sum(data);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
            start = Stopwatch.GetTimestamp();
            sum += SumFourStreams(data);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }

        return (data.LongLength * sizeof(float) / best, sum);
    }

    /// <summary>Four streams, one per quarter of the array, read in lock step; Vector256 loads so the same code runs
    /// everywhere. The remainder past four equal quarters is summed at the end.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float SumFourStreams(float[] data)
    {
        ref var p = ref MemoryMarshal.GetArrayDataReference(data);
        var width = (nuint)Vector256<float>.Count;
        var quarter = (nuint)data.Length / 4 / width * width;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (nuint i = 0; i < quarter; i += width)
        {
            a0 += Vector256.LoadUnsafe(ref p, i);
            a1 += Vector256.LoadUnsafe(ref p, quarter + i);
            a2 += Vector256.LoadUnsafe(ref p, (2 * quarter) + i);
            a3 += Vector256.LoadUnsafe(ref p, (3 * quarter) + i);
        }

        var total = Vector256.Sum((a0 + a1) + (a2 + a3));
        for (var i = 4 * quarter; i < (nuint)data.Length; i++)
        {
            total += Unsafe.Add(ref p, i);
        }

        return total;
    }

    /// <summary>Four independent accumulators so the loop is bound by loads, not by the add latency.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Sum(float[] data)
    {
        ref var p = ref MemoryMarshal.GetArrayDataReference(data);
        var n = (nuint)data.Length;
        nuint i = 0;
        float total;
        if (Vector512.IsHardwareAccelerated)
        {
            var width = (nuint)Vector512<float>.Count;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + (4 * width) <= n; i += 4 * width)
            {
                a0 += Vector512.LoadUnsafe(ref p, i);
                a1 += Vector512.LoadUnsafe(ref p, i + width);
                a2 += Vector512.LoadUnsafe(ref p, i + (2 * width));
                a3 += Vector512.LoadUnsafe(ref p, i + (3 * width));
            }

            total = Vector512.Sum((a0 + a1) + (a2 + a3));
        }
        else
        {
            var width = (nuint)Vector256<float>.Count;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + (4 * width) <= n; i += 4 * width)
            {
                a0 += Vector256.LoadUnsafe(ref p, i);
                a1 += Vector256.LoadUnsafe(ref p, i + width);
                a2 += Vector256.LoadUnsafe(ref p, i + (2 * width));
                a3 += Vector256.LoadUnsafe(ref p, i + (3 * width));
            }

            total = Vector256.Sum((a0 + a1) + (a2 + a3));
        }

        for (; i < n; i++)
        {
            total += Unsafe.Add(ref p, i);
        }

        return total;
    }
}
