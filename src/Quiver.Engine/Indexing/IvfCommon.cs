using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Quiver.Distance;
using Quiver.Search;
using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>An index's array, either allocated on the pinned heap by a build or read in place from a mapped index file.
/// Search code sees one type for both. A mapped array is valid while its reader lives (the index owns the reader); a
/// built one is written only during the build, before the index is shared.</summary>
internal readonly unsafe struct MappedArray<T>
    where T : unmanaged
{
    private readonly T[]? _owner;
    private readonly T* _pointer;

    private MappedArray(T[]? owner, T* pointer, int length)
    {
        _owner = owner;
        _pointer = pointer;
        Length = length;
    }

    public int Length { get; }

    public long Bytes => (long)Length * sizeof(T);

    public ReadOnlySpan<T> Span => new(_pointer, Length);

    /// <summary>The array's address (stable: pinned or mapped).</summary>
    public T* Pointer => _pointer;

    /// <summary>The built array, for filling during a build; a mapped array is read-only.</summary>
    public T[] Array => _owner ?? throw new InvalidOperationException("a mapped index array is read-only");

    /// <summary>A zeroed array on the pinned heap, so that its address can be taken once.</summary>
    public static MappedArray<T> Allocate(int length)
    {
        var a = GC.AllocateArray<T>(length, pinned: true);
        return new MappedArray<T>(a, length == 0 ? null : (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(a)), length);
    }

    /// <summary>Reads block <paramref name="name"/> in place; its length must be <paramref name="expected"/> values.</summary>
    public static MappedArray<T> Map(IndexFileReader reader, string name, long expected)
    {
        var length = reader.Block<T>(name).Length;
        if (length != expected)
        {
            Throw.Corrupt(reader.Path, $"block '{name}' holds {length} values, expected {expected}");
        }

        return new MappedArray<T>(null, (T*)reader.Pointer(name), length);
    }

    public void AddTo(IndexFileWriter writer, string name)
    {
        var pointer = _pointer;
        var bytes = Bytes;
        writer.Add(name, bytes, () => new ReadOnlySpan<byte>(pointer, checked((int)bytes)));
    }
}

/// <summary>Per-thread scratch of the IVF and ANNOY searches: buffers grow to the largest index searched on the thread
/// and are reused, so a query allocates nothing once the thread has searched before.</summary>
internal sealed class IvfScratch
{
    public const int Tile = 256;

    [ThreadStatic]
    private static IvfScratch? t_current;

    private TopK? _heap;
    private TopK? _refine;
    private float[] _query = [];
    private float[] _coarse = [];
    private float[] _table = [];
    private float[] _table2 = [];
    private int[] _probes = [];
    private float[] _probeKeys = [];
    private IndexHit[] _hits = [];

    public static IvfScratch Current => t_current ??= new IvfScratch();

    public float[] TileKeys { get; } = new float[Tile];

    public Span<float> Query(int n) => Grow(ref _query, n);

    public Span<float> Coarse(int n) => Grow(ref _coarse, n);

    public Span<float> Table(int n) => Grow(ref _table, n);

    public Span<float> Table2(int n) => Grow(ref _table2, n);

    public Span<int> Probes(int n) => Grow(ref _probes, n);

    public Span<float> ProbeKeys(int n) => Grow(ref _probeKeys, n);

    public Span<IndexHit> Hits(int n) => Grow(ref _hits, n);

    /// <summary>An empty top-k heap of capacity <paramref name="k"/>.</summary>
    public TopK Heap(int k) => Reset(ref _heap, k);

    /// <summary>A second heap, for exact re-ranking.</summary>
    public TopK RefineHeap(int k) => Reset(ref _refine, k);

    private static TopK Reset(ref TopK? heap, int k)
    {
        if (heap is null || heap.Capacity != k)
        {
            heap = new TopK(k);
        }

        heap.Clear();
        return heap;
    }

    /// <summary>The first <paramref name="n"/> items of <paramref name="buffer"/>, grown (at least doubled) when short.</summary>
    internal static Span<T> Grow<T>(ref T[] buffer, int n)
    {
        if (buffer.Length < n)
        {
            buffer = new T[Math.Max(n, buffer.Length * 2)];
        }

        return buffer.AsSpan(0, n);
    }
}

/// <summary>Helpers the IVF and ANNOY builds share: the vectors in the index's space, seeded samples, parallel loops.</summary>
internal static unsafe class IvfBuild
{
    /// <summary>A view over row-major vectors held in an array.</summary>
    public static VectorView View(float[] data, int dim, float[]? norms = null) => new(data, null, dim, data.Length / dim, norms ?? []);

    /// <summary>The vectors the index works on: the raw ones, or normalized copies for COSINE.</summary>
    public static VectorView Space(MetricType metric, VectorView raw, int threads, CancellationToken cancellationToken)
    {
        if (metric != MetricType.Cosine)
        {
            return raw;
        }

        var dim = raw.Dimension;
        var copy = GC.AllocateUninitializedArray<float>(raw.Count * dim);
        For(raw.Count, threads, cancellationToken, (start, end) =>
        {
            for (var r = start; r < end; r++)
            {
                var dst = copy.AsSpan(r * dim, dim);
                raw.Row(r).CopyTo(dst);
                Normalize(dst);
            }
        });
        return View(copy, dim) with { Nulls = raw.Nulls };
    }

    public static void Normalize(Span<float> v)
    {
        var norm = MathF.Sqrt(VectorMath.SquaredNorm(v));
        var inv = norm > 0 ? 1f / norm : 0f;
        for (var i = 0; i < v.Length; i++)
        {
            v[i] *= inv;
        }
    }

    /// <summary>Exact key of row <paramref name="row"/> from the raw vectors, for a query in index space (normalized for
    /// COSINE, so dividing by the row's norm gives the cosine).</summary>
    public static float ExactKey(MetricType metric, VectorView raw, ReadOnlySpan<float> query, int row)
    {
        var v = raw.Row(row);
        return metric switch
        {
            MetricType.L2 => VectorMath.L2Squared(query, v),
            MetricType.IP => -VectorMath.Dot(query, v),
            _ => -VectorMath.Dot(query, v) / MathF.Max(MathF.Sqrt(raw.SquaredNorm(row)), float.Epsilon),
        };
    }

    /// <summary>Up to <paramref name="max"/> distinct rows chosen with <paramref name="seed"/>, copied row-major (all rows,
    /// in order, when there are at most <paramref name="max"/>); null vectors are never chosen.</summary>
    public static float[] Sample(VectorView rows, int max, int seed, out int count)
    {
        var dim = rows.Dimension;
        var picked = NullRows.Live(rows);
        count = Math.Min(max, picked.Length);
        if (count < picked.Length)
        {
            var rng = new Random(seed);
            for (var i = 0; i < count; i++)
            {
                var j = rng.Next(i, picked.Length);
                (picked[i], picked[j]) = (picked[j], picked[i]);
            }

            System.Array.Sort(picked, 0, count);
        }

        var sample = GC.AllocateUninitializedArray<float>(count * dim);
        for (var i = 0; i < count; i++)
        {
            rows.Row(picked[i]).CopyTo(sample.AsSpan(i * dim, dim));
        }

        return sample;
    }

    /// <summary>Runs <paramref name="body"/> over [0, count) in contiguous chunks on up to <paramref name="threads"/>
    /// threads; cancellation stops it between chunks.</summary>
    public static void For(int count, int threads, CancellationToken cancellationToken, Action<int, int> body, int chunk = 1024)
    {
        var chunks = (count + chunk - 1) / chunk;
        if (threads <= 1 || chunks <= 1)
        {
            for (var c = 0; c < chunks; c++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                body(c * chunk, Math.Min(count, (c + 1) * chunk));
            }

            return;
        }

        Parallel.For(
            0,
            chunks,
            new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancellationToken },
            c => body(c * chunk, Math.Min(count, (c + 1) * chunk)));
    }
}
