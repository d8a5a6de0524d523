using System.Diagnostics;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Quiver.Distance;

namespace Quiver.Bench.Kernels;

/// <summary>
/// Kernel throughput. <c>quick</c> runs a Stopwatch pass over the FAISS-style workload
/// (100 queries x 60000 rows x 784 dims, one thread) and prints GFLOP/s and GB/s; any other
/// arguments go to BenchmarkDotNet.
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "quick")
        {
            Quick.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5);
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}

internal static class Quick
{
    private const int Dim = 784;
    private const int RowCount = 60_000;
    private const int QueryCount = 100;

    public static void Run(int repeats)
    {
        Console.WriteLine($"Vector512 {Vector512.IsHardwareAccelerated}, Vector256 {Vector256.IsHardwareAccelerated}, Vector128 {Vector128.IsHardwareAccelerated}");
        float[] rows = Data.Random(1, RowCount * Dim);
        float[] queries = Data.Random(2, QueryCount * Dim);
        float[] rowNorms = new float[RowCount];
        float[] queryNorms = new float[QueryCount];
        for (int r = 0; r < RowCount; r++)
        {
            rowNorms[r] = VectorMath.SquaredNorm(rows.AsSpan(r * Dim, Dim));
        }

        for (int q = 0; q < QueryCount; q++)
        {
            queryNorms[q] = VectorMath.SquaredNorm(queries.AsSpan(q * Dim, Dim));
        }

        float[] result = new float[QueryCount * RowCount];
        float[] distances = new float[RowCount];
        double flops = 2.0 * QueryCount * RowCount * Dim;
        double rowBytes = (double)RowCount * Dim * sizeof(float);

        Report("FMA ceiling (12 independent FMA chains)", repeats, () => Ceiling.Run(10_000_000), Ceiling.Flops(10_000_000), "GFLOP/s");
        Report("DotBlock 100x60000x784", repeats, () => VectorMath.DotBlock(queries, QueryCount, rows, RowCount, Dim, result), flops, "GFLOP/s");
        Report("L2SquaredBlock 100x60000x784", repeats, () => VectorMath.L2SquaredBlock(queries, QueryCount, queryNorms, rows, RowCount, rowNorms, Dim, result), flops, "GFLOP/s");

        // One query streaming the whole 188 MB matrix: memory-bound, so report bytes of rows read.
        Report("L2SquaredMany 1x60000x784", repeats * 4, () => VectorMath.L2SquaredMany(queries.AsSpan(0, Dim), rows, Dim, distances), rowBytes, "GB/s");
        Report("DotMany 1x60000x784", repeats * 4, () => VectorMath.DotMany(queries.AsSpan(0, Dim), rows, Dim, distances), rowBytes, "GB/s");
        Report("L2Squared pair loop 1x60000x784", repeats * 4, () => PairLoop(queries.AsSpan(0, Dim), rows, distances), rowBytes, "GB/s");
        Report("SquaredNorm over all rows (read bandwidth)", repeats * 4, () => distances[0] = VectorMath.SquaredNorm(rows), rowBytes, "GB/s");

        // The same with rows that stay in cache (2000 rows, 6.3 MB fits L3), to see the compute ceiling.
        ReadOnlySpan<float> hot = rows.AsSpan(0, 2000 * Dim);
        float[] hotRows = hot.ToArray();
        Report("L2SquaredMany 1x2000x784 (L3-resident), x30", repeats * 4, () =>
        {
            for (int i = 0; i < 30; i++)
            {
                VectorMath.L2SquaredMany(queries.AsSpan(0, Dim), hotRows, Dim, distances.AsSpan(0, 2000));
            }
        }, 30.0 * 2000 * Dim * sizeof(float), "GB/s");
        float[] l2Rows = rows.AsSpan(0, 160 * Dim).ToArray();
        Report("L2SquaredMany 1x160x784 (L2-resident), x400", repeats * 4, () =>
        {
            for (int i = 0; i < 400; i++)
            {
                VectorMath.L2SquaredMany(queries.AsSpan(0, Dim), l2Rows, Dim, distances.AsSpan(0, 160));
            }
        }, 400.0 * 160 * Dim * sizeof(float), "GB/s");
        Report("L2Squared pair loop 1x160x784 (L2-resident), x400", repeats * 4, () =>
        {
            for (int i = 0; i < 400; i++)
            {
                PairLoop(queries.AsSpan(0, Dim), l2Rows, distances.AsSpan(0, 160));
            }
        }, 400.0 * 160 * Dim * sizeof(float), "GB/s");
        Report("L2Squared pair loop 1x2000x784 (L3-resident), x30", repeats * 4, () =>
        {
            for (int i = 0; i < 30; i++)
            {
                PairLoop(queries.AsSpan(0, Dim), hotRows, distances.AsSpan(0, 2000));
            }
        }, 30.0 * 2000 * Dim * sizeof(float), "GB/s");
    }

    private static void PairLoop(ReadOnlySpan<float> query, ReadOnlySpan<float> rows, Span<float> distances)
    {
        for (int r = 0; r < distances.Length; r++)
        {
            distances[r] = VectorMath.L2Squared(query, rows.Slice(r * Dim, Dim));
        }
    }

    private static void Report(string name, int repeats, Action action, double work, string unit)
    {
        action();
        action();
        var seconds = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            seconds[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        Array.Sort(seconds);
        double best = seconds[0];
        double median = seconds[repeats / 2];
        Console.WriteLine($"{name,-52} best {work / best / 1e9,7:F1} {unit}  median {work / median / 1e9,7:F1} {unit}  ({best * 1e3:F1} ms best)");
    }
}

/// <summary>The single-core FMA ceiling at the widest accelerated width: twelve independent chains
/// hide the FMA latency, so this is the number the block kernel is measured against.</summary>
internal static class Ceiling
{
    public static double Flops(long iterations) =>
        iterations * 12.0 * 2 * (Vector512.IsHardwareAccelerated ? Vector512<float>.Count : Vector256<float>.Count);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    public static float Run(long iterations) =>
        Vector512.IsHardwareAccelerated ? Run512(iterations) : Run256(iterations);

    private static float Run512(long iterations)
    {
        Vector512<float> m = Vector512.Create(0.999f), a = Vector512.Create(0.001f);
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector512<float> c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (long i = 0; i < iterations; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, m, a);
            c1 = Vector512.FusedMultiplyAdd(c1, m, a);
            c2 = Vector512.FusedMultiplyAdd(c2, m, a);
            c3 = Vector512.FusedMultiplyAdd(c3, m, a);
            c4 = Vector512.FusedMultiplyAdd(c4, m, a);
            c5 = Vector512.FusedMultiplyAdd(c5, m, a);
            c6 = Vector512.FusedMultiplyAdd(c6, m, a);
            c7 = Vector512.FusedMultiplyAdd(c7, m, a);
            c8 = Vector512.FusedMultiplyAdd(c8, m, a);
            c9 = Vector512.FusedMultiplyAdd(c9, m, a);
            c10 = Vector512.FusedMultiplyAdd(c10, m, a);
            c11 = Vector512.FusedMultiplyAdd(c11, m, a);
        }

        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    private static float Run256(long iterations)
    {
        Vector256<float> m = Vector256.Create(0.999f), a = Vector256.Create(0.001f);
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector256<float> c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (long i = 0; i < iterations; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(c0, m, a);
            c1 = Vector256.FusedMultiplyAdd(c1, m, a);
            c2 = Vector256.FusedMultiplyAdd(c2, m, a);
            c3 = Vector256.FusedMultiplyAdd(c3, m, a);
            c4 = Vector256.FusedMultiplyAdd(c4, m, a);
            c5 = Vector256.FusedMultiplyAdd(c5, m, a);
            c6 = Vector256.FusedMultiplyAdd(c6, m, a);
            c7 = Vector256.FusedMultiplyAdd(c7, m, a);
            c8 = Vector256.FusedMultiplyAdd(c8, m, a);
            c9 = Vector256.FusedMultiplyAdd(c9, m, a);
            c10 = Vector256.FusedMultiplyAdd(c10, m, a);
            c11 = Vector256.FusedMultiplyAdd(c11, m, a);
        }

        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }
}

internal static class Data
{
    public static float[] Random(int seed, int length)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)random.NextDouble();
        }

        return values;
    }
}

/// <summary>BenchmarkDotNet view of the same kernels at a smaller size (run with <c>--filter *</c>).</summary>
[MemoryDiagnoser]
public class KernelBenchmarks
{
    private float[] _queries = [];
    private float[] _rows = [];
    private float[] _result = [];
    private float[] _distances = [];

    [Params(128, 784)]
    public int Dim { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _queries = Data.Random(1, 16 * Dim);
        _rows = Data.Random(2, 4096 * Dim);
        _result = new float[16 * 4096];
        _distances = new float[4096];
    }

    [Benchmark]
    public float Dot() => VectorMath.Dot(_queries.AsSpan(0, Dim), _rows.AsSpan(0, Dim));

    [Benchmark]
    public float L2Squared() => VectorMath.L2Squared(_queries.AsSpan(0, Dim), _rows.AsSpan(0, Dim));

    [Benchmark]
    public void L2SquaredMany4096() => VectorMath.L2SquaredMany(_queries.AsSpan(0, Dim), _rows, Dim, _distances);

    [Benchmark]
    public void DotBlock16x4096() => VectorMath.DotBlock(_queries, 16, _rows, 4096, Dim, _result);
}
