using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Quiver.Common;
using Quiver.Distance;

namespace Quiver.Indexing;

/// <summary>Search: greedy descent through the upper layers, best-first search of layer 0 with a beam of ef (the paper's
/// Algorithm 5, with hnswlib's filter rule: every node is traversed, only allowed rows enter the results), then an exact
/// re-rank of the best candidates on the raw vectors.</summary>
internal sealed unsafe partial class HnswIndex
{
    [ThreadStatic]
    private static Scratch? t_scratch;

    /// <inheritdoc/>
    public override int Search(ReadOnlySpan<float> query, int k, in AnnSearchParams p, Bitmap? allowed, Span<IndexHit> hits)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (query.Length != Dimension)
        {
            Throw.Invalid($"{Owner}: query has {query.Length} dimensions, the index {Dimension}");
        }

        if (allowed is not null && allowed.Length < Count)
        {
            Throw.Invalid($"{Owner}: allow-list covers {allowed.Length} rows, the index {Count}");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(hits.Length, k, nameof(hits));
        if (k <= 0 || _entryPoint < 0)
        {
            return 0;
        }

        var ef = BeamOf(p, k);
        var refine = p.RefineK > 0 ? p.RefineK : DefaultRefine;
        var s = t_scratch ??= new Scratch();
        s.Ensure(this, ef);
        Normalized(query, s.Normalized);
        var bias = PrepareSq8(s.Normalized, s.Query);
        if (allowed is null)
        {
            if (Metric == MetricType.L2)
            {
                SearchLayer0<L2Space, AllRows>(bias, ef, default, s);
            }
            else
            {
                SearchLayer0<DotSpace, AllRows>(bias, ef, default, s);
            }
        }
        else
        {
            fixed (ulong* words = allowed.Words)
            {
                if (Metric == MetricType.L2)
                {
                    SearchLayer0<L2Space, AllowList>(bias, ef, new AllowList(words), s);
                }
                else
                {
                    SearchLayer0<DotSpace, AllowList>(bias, ef, new AllowList(words), s);
                }
            }
        }

        return Rerank(s, (int)Math.Min((long)k * refine, int.MaxValue), k, hits);
    }

    /// <summary>Descends to layer 0 and runs the beam search there; leaves up to ef allowed nodes in <c>s.Results</c>.</summary>
    private void SearchLayer0<TSpace, TFilter>(float bias, int ef, TFilter filter, Scratch s)
        where TSpace : struct, ISpace
        where TFilter : struct, IRowFilter
    {
        var q = s.Query;
        var w = WeightsPointer;
        var dimPad = _dimPad;
        var cur = _entryPoint;
        var curDist = Distance<TSpace>(q, w, bias, Code(cur), dimPad);
        for (var l = _maxLevel; l > 0; l--)
        {
            var changed = true;
            while (changed)
            {
                changed = false;
                var list = UpperLinks(cur, l);
                var n = list[0];
                for (var j = 1; j <= n; j++)
                {
                    Prefetch(Code(list[j]));
                }

                for (var j = 1; j <= n; j++)
                {
                    var id = list[j];
                    if (j < n)
                    {
                        PrefetchCode(Code(list[j + 1]), dimPad);
                    }

                    var d = Distance<TSpace>(q, w, bias, Code(id), dimPad);
                    if (d < curDist)
                    {
                        curDist = d;
                        cur = id;
                        changed = true;
                    }
                }
            }
        }

        var visited = s.Start(cur, curDist, filter.Allows(cur));
        var mark = s.Epoch;
        var candidates = s.Candidates;
        var results = s.Results;
        var lower = results.Count > 0 ? results.TopDist : float.PositiveInfinity;
        var level0 = _level0;
        var stride = _stride;
        var fresh = s.Fresh;
        while (candidates.Count > 0)
        {
            var (negDist, c) = candidates.Top;
            if (-negDist > lower && (results.Count >= ef || !TFilter.Filtering))
            {
                break;
            }

            candidates.Pop();
            var list = (int*)(level0 + (c * stride) + dimPad);
            var n = GatherFresh(list + 1, list[0], visited, mark, fresh, level0, stride);
            for (var j = 0; j < n; j++)
            {
                var id = fresh[j];
                if (j + 1 < n)
                {
                    PrefetchCode(level0 + (fresh[j + 1] * stride), dimPad);
                }

                var d = Distance<TSpace>(q, w, bias, level0 + (id * stride), dimPad);
                if (results.Count < ef || d < lower)
                {
                    candidates.Push(-d, id);

                    // The next candidate's list is read right after this loop.
                    Prefetch(level0 + (candidates.Top.Id * stride) + dimPad);
                    if (filter.Allows(id))
                    {
                        results.Push(d, id);
                        if (results.Count > ef)
                        {
                            results.Pop();
                        }
                    }

                    if (results.Count > 0)
                    {
                        lower = results.TopDist;
                    }
                }
            }
        }
    }

    /// <summary>Marks the unvisited ids of a neighbour list as visited and copies them to <paramref name="fresh"/>,
    /// prefetching the first line of each code so that their misses overlap; returns how many.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int GatherFresh(int* ids, int count, ushort* visited, ushort mark, int* fresh, byte* level0, nint stride)
    {
        var n = 0;
        for (var j = 0; j < count; j++)
        {
            var id = ids[j];
            if (visited[id] != mark)
            {
                visited[id] = mark;
                fresh[n++] = id;
                Prefetch(level0 + (id * stride));
            }
        }

        return n;
    }

    /// <summary>Exact distances for the best <paramref name="refine"/> candidates (by SQ8 distance), sorted; writes the
    /// best k to <paramref name="hits"/>. Reads the raw vectors row by row (<see cref="Segments.VectorView.Row(int)"/>): of a mapped
    /// segment, only the pages of the rows re-ranked are verified, so the first search after a reopen checksums a few
    /// pages per segment, not its whole vector block.</summary>
    private int Rerank(Scratch s, int refine, int k, Span<IndexHit> hits)
    {
        var n = s.Results.DrainAscending(s.Sorted);
        var r = Math.Min(n, Math.Max(refine, k));
        var sorted = s.Sorted;
        var raw = Raw;
        for (var i = 0; i < r; i++)
        {
            Prefetch(raw.RowAddressForPrefetch(sorted[i].Id));
        }

        var exact = s.Exact;
        var q = s.Normalized.AsSpan(0, Dimension);
        for (var i = 0; i < r; i++)
        {
            var row = sorted[i].Id;
            var v = raw.Row(row);
            var key = Metric switch
            {
                MetricType.L2 => VectorMath.L2Squared(q, v),
                MetricType.IP => -VectorMath.Dot(q, v),
                _ => -(VectorMath.Dot(q, v) / MathF.Sqrt(raw.SquaredNorm(row))),
            };

            // Insertion sort: r is small (refine × k).
            var at = i;
            while (at > 0 && (exact[at - 1].Key > key || (exact[at - 1].Key == key && exact[at - 1].Row > row)))
            {
                exact[at] = exact[at - 1];
                at--;
            }

            exact[at] = new IndexHit(key, row);
        }

        var m = Math.Min(k, r);
        exact.AsSpan(0, m).CopyTo(hits);
        return m;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch(void* p)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(p);
        }
    }

    /// <summary>Prefetches every line of a code (the first was prefetched when it was gathered).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchCode(byte* code, int dimPad)
    {
        if (Sse.IsSupported)
        {
            for (var offset = 64; offset < dimPad; offset += 64)
            {
                Sse.Prefetch0(code + offset);
            }
        }
    }

    /// <summary>Which rows may enter the results; a struct so the unfiltered search pays nothing.</summary>
    private interface IRowFilter
    {
        static abstract bool Filtering { get; }

        bool Allows(int row);
    }

    private readonly struct AllRows : IRowFilter
    {
        public static bool Filtering => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Allows(int row) => true;
    }

    private readonly struct AllowList(ulong* words) : IRowFilter
    {
        public static bool Filtering => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Allows(int row) => (words[row >> 6] & (1UL << row)) != 0;
    }

    /// <summary>A node and its distance in a heap.</summary>
    private readonly record struct HeapItem(float Dist, int Id)
    {
        public static readonly IComparer<HeapItem> ByDistance = Comparer<HeapItem>.Create(
            static (a, b) => a.Dist != b.Dist ? a.Dist.CompareTo(b.Dist) : a.Id.CompareTo(b.Id));
    }

    /// <summary>A binary max-heap on distance over a struct array sized once (candidates use negated distances).</summary>
    private sealed class Heap
    {
        private HeapItem[] _items = new HeapItem[16];

        public int Count { get; private set; }

        public float TopDist => _items[0].Dist;

        public HeapItem Top => _items[0];

        public void Reserve(int capacity)
        {
            if (_items.Length < capacity)
            {
                _items = new HeapItem[capacity];
            }
        }

        public void Clear() => Count = 0;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Push(float dist, int id)
        {
            if (Count == _items.Length)
            {
                Array.Resize(ref _items, _items.Length * 2);
            }

            var items = _items;
            var i = Count++;
            while (i > 0)
            {
                var parent = (i - 1) >> 1;
                if (items[parent].Dist >= dist)
                {
                    break;
                }

                items[i] = items[parent];
                i = parent;
            }

            items[i] = new HeapItem(dist, id);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Pop()
        {
            var items = _items;
            var last = items[--Count];
            var n = Count;
            var i = 0;
            while (true)
            {
                var child = (2 * i) + 1;
                if (child >= n)
                {
                    break;
                }

                if (child + 1 < n && items[child + 1].Dist > items[child].Dist)
                {
                    child++;
                }

                if (items[child].Dist <= last.Dist)
                {
                    break;
                }

                items[i] = items[child];
                i = child;
            }

            items[i] = last;
        }

        /// <summary>Empties the heap into <paramref name="dest"/> ascending by distance; returns how many.</summary>
        public int DrainAscending(HeapItem[] dest)
        {
            var n = Count;
            for (var i = n - 1; i >= 0; i--)
            {
                dest[i] = _items[0];
                Pop();
            }

            return n;
        }
    }

    /// <summary>Per-thread buffers of a search or of a build worker, grown to the largest index and ef seen.</summary>
    private sealed class Scratch
    {
        private ushort[] _visited = [];
        private float[] _query = [];
        private float[] _query2 = [];
        private float[] _kept = [];
        private int[] _fresh = [];
        private int _dimPad;

        public ushort Epoch { get; private set; }

        public Heap Candidates { get; } = new();

        public Heap Results { get; } = new();

        public HeapItem[] Sorted { get; private set; } = [];

        public IndexHit[] Exact { get; private set; } = [];

        public float[] Normalized { get; private set; } = [];

        public float[] KeptBias { get; private set; } = [];

        public int[] LinkCopy { get; private set; } = [];

        /// <summary>Unvisited neighbours of the node being expanded.</summary>
        public int* Fresh => (int*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_fresh));

        public int[] Chosen { get; private set; } = [];

        public float* Query => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_query));

        public float* Query2 => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_query2));

        public float* Kept(int r) => (float*)Unsafe.AsPointer(ref _kept[r * _dimPad]);

        public void Ensure(HnswIndex index, int ef)
        {
            if (_visited.Length < index.Count)
            {
                _visited = GC.AllocateArray<ushort>(index.Count, pinned: true);
                Epoch = 0;
            }

            if (_query.Length < index._dimPad || Normalized.Length < index.Dimension)
            {
                _query = GC.AllocateArray<float>(index._dimPad, pinned: true);
                _query2 = GC.AllocateArray<float>(index._dimPad, pinned: true);
                Normalized = new float[index.Dimension];
            }

            var sorted = Math.Max(ef, index._maxM0) + 2;
            if (Sorted.Length < sorted)
            {
                Sorted = new HeapItem[sorted];
                Exact = new IndexHit[sorted];
                Candidates.Reserve(sorted * 2);
                Results.Reserve(sorted);
            }

            if (_kept.Length < index._maxM0 * index._dimPad || _dimPad != index._dimPad)
            {
                _dimPad = index._dimPad;
                _kept = GC.AllocateArray<float>(Math.Max(1, index._maxM0 * index._dimPad), pinned: true);
                KeptBias = new float[index._maxM0 + 1];
                LinkCopy = GC.AllocateArray<int>(index._maxM0 + 1, pinned: true);
                _fresh = GC.AllocateArray<int>(index._maxM0 + 1, pinned: true);
                Chosen = new int[index._maxM0 + 1];
            }
        }

        /// <summary>Starts a traversal at <paramref name="entry"/>: empties the heaps, marks the entry visited and makes it
        /// the first candidate (and result, when it may be one). A node is visited when its entry equals
        /// <see cref="Epoch"/>, so the visited array is cleared only when the 16-bit epoch wraps (once per 65,535
        /// traversals), never per query.</summary>
        public ushort* Start(int entry, float entryDist, bool entryIsResult)
        {
            if (Epoch == ushort.MaxValue)
            {
                Array.Clear(_visited);
                Epoch = 0;
            }

            Epoch++;
            var visited = (ushort*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_visited));
            visited[entry] = Epoch;
            Candidates.Clear();
            Results.Clear();
            Candidates.Push(-entryDist, entry);
            if (entryIsResult)
            {
                Results.Push(entryDist, entry);
            }

            return visited;
        }
    }
}
