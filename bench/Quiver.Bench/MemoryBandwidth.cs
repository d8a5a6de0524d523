using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quiver.Bench;

/// <summary>Single-thread sequential read bandwidth: a SIMD sum over a large float array (far larger than the caches),
/// best of several passes. This is the floor for a FLAT query, which must stream every stored vector once.</summary>
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
            var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            best = Math.Min(best, seconds);
        }

        return (data.LongLength * sizeof(float) / best, sum);
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
