using System.Runtime.InteropServices;
using Quiver.Distance;
using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>The Vamana build: two passes over the rows in a seeded random order, the first pruning with alpha = 1 (a
/// sparse, navigable graph), the second with alpha = 1.2 (adding the long edges that let a greedy search reach distant
/// regions in few hops). Each row is searched for from the medoid with a list of <c>search_list_size</c>; the nodes that
/// search expanded, plus the row's current neighbours, are robust-pruned to at most R; then each chosen neighbour gets
/// the reverse edge, and is pruned itself once it holds more than R × 1.3 (the slack DiskANN uses, so that not every
/// reverse edge costs a prune). A final sweep prunes every list above R.</summary>
internal sealed unsafe partial class DiskAnnIndex
{
    private const float SecondPassAlpha = 1.2f;
    private const double Slack = 1.3;

    public static DiskAnnIndex Build(MetricType metric, IndexParameters p, VectorView raw, IndexBuildOptions options, CancellationToken cancellationToken)
    {
        var s = Settings.Parse(p);
        var n = raw.Count;
        var dim = raw.Dimension;
        var stored = IvfBuild.Space(metric, raw, options.Threads, cancellationToken);
        var space = metric == MetricType.IP ? Augmented(raw) : stored;
        var graph = new Graph(n, s.MaxDegree, (int)Math.Ceiling(s.MaxDegree * Slack));
        // A null vector is not inserted (see NullRows): never searched for, so never linked, and never the medoid.
        var order = NullRows.Live(raw);
        var medoid = order.Length == 0 ? 0 : Medoid(space, order);
        if (order.Length > 1)
        {
            new Random(options.Seed).Shuffle(order);
            Pass(graph, space, medoid, order, 1f, s, options, 0, cancellationToken);
            Pass(graph, space, medoid, order, SecondPassAlpha, s, options, 0.4, cancellationToken);
            IvfBuild.For(n, options.Threads, cancellationToken, (first, end) =>
            {
                var ctx = new BuildContext(s.BuildList, n, graph.Capacity);
                for (var v = first; v < end; v++)
                {
                    if (graph.Degree(v) > s.MaxDegree)
                    {
                        ctx.Pool.Clear();
                        graph.CopyNeighbours(v, ctx.Pool);
                        Prune(space, v, ctx, SecondPassAlpha, s.MaxDegree, graph);
                    }
                }
            });
        }

        options.Progress?.Invoke(0.8);
        var m = PqM(s.PqRatio, dim);
        var nbits = PqBits(n);
        var sample = IvfBuild.Sample(stored, Math.Max((1 << nbits) * 64, 32_768), options.Seed + 1, out var sampleCount);
        var pq = ProductQuantizer.Train(sample, sampleCount, dim, m, nbits, options.Seed + 2, options.Threads, cancellationToken);
        var codes = MappedArray<byte>.Allocate(n * m);
        IvfBuild.For(n, options.Threads, cancellationToken, (first, end) =>
        {
            var distances = new float[pq.Ksub];
            for (var r = first; r < end; r++)
            {
                pq.Encode(stored.Row(r), codes.Array.AsSpan(r * m, m), distances);
            }
        });

        options.Progress?.Invoke(0.95);
        var layout = new NodeLayout(dim, s.MaxDegree);
        var blockBytes = layout.BlockBytes(n);
        if (blockBytes > int.MaxValue)
        {
            throw new QuiverException(
                QuiverErrorCode.Capacity, $"{Owner}: {n} nodes of {layout.RecordBytes} bytes take {blockBytes} bytes; a segment's node block holds at most {int.MaxValue} (use smaller segments)");
        }

        var nodes = GC.AllocateArray<byte>(checked((int)blockBytes), pinned: true);
        for (var r = 0; r < n; r++)
        {
            var record = nodes.AsSpan((int)layout.Offset(r), layout.RecordBytes);
            MemoryMarshal.AsBytes(stored.Row(r)).CopyTo(record);
            var neighbours = graph.Neighbours(r);
            MemoryMarshal.Write(record[(dim * sizeof(float))..], neighbours.Length);
            MemoryMarshal.AsBytes(neighbours).CopyTo(record[((dim + 1) * sizeof(int))..]);
        }

        options.Progress?.Invoke(1);
        var pointer = (byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(nodes));
        return new DiskAnnIndex(metric, raw, p, pq, codes, layout, medoid, nodes, pointer, blockBytes, null);
    }

    /// <summary>IP as L2: each row gains the coordinate sqrt(max|x|² - |x|²), so every row has norm max|x| and the L2
    /// order of rows from a query (q, 0) is their inner-product order.</summary>
    private static VectorView Augmented(VectorView raw)
    {
        var dim = raw.Dimension;
        var max = 0f;
        for (var r = 0; r < raw.Count; r++)
        {
            max = Math.Max(max, raw.SquaredNorms[r]);
        }

        var data = GC.AllocateUninitializedArray<float>(raw.Count * (dim + 1));
        for (var r = 0; r < raw.Count; r++)
        {
            raw.Row(r).CopyTo(data.AsSpan(r * (dim + 1), dim));
            data[(r * (dim + 1)) + dim] = MathF.Sqrt(Math.Max(0, max - raw.SquaredNorms[r]));
        }

        return IvfBuild.View(data, dim + 1) with { Nulls = raw.Nulls };
    }

    /// <summary>The row of <paramref name="rows"/> nearest their mean.</summary>
    private static int Medoid(VectorView space, int[] rows)
    {
        var dim = space.Dimension;
        var mean = new double[dim];
        foreach (var r in rows)
        {
            var row = space.Row(r);
            for (var d = 0; d < dim; d++)
            {
                mean[d] += row[d];
            }
        }

        var centre = new float[dim];
        for (var d = 0; d < dim; d++)
        {
            centre[d] = (float)(mean[d] / rows.Length);
        }

        var best = rows[0];
        var bestKey = float.PositiveInfinity;
        foreach (var r in rows)
        {
            var key = VectorMath.L2Squared(centre, space.Row(r));
            if (key < bestKey)
            {
                (best, bestKey) = (r, key);
            }
        }

        return best;
    }

    private static void Pass(
        Graph graph, VectorView space, int medoid, int[] order, float alpha, Settings s, IndexBuildOptions options, double progressFrom,
        CancellationToken cancellationToken)
    {
        var done = 0;
        var n = order.Length;
        IvfBuild.For(n, options.Threads, cancellationToken, (first, end) =>
        {
            var ctx = new BuildContext(s.BuildList, n, graph.Capacity);
            Span<int> chosen = stackalloc int[s.MaxDegree];
            for (var i = first; i < end; i++)
            {
                var v = order[i];
                GreedySearch(graph, space, medoid, space.Row(v), ctx);
                graph.CopyNeighbours(v, ctx.Pool);
                Prune(space, v, ctx, alpha, s.MaxDegree, graph);
                var count = graph.CopyNeighbours(v, chosen);
                foreach (var u in chosen[..count])
                {
                    if (!graph.TryAdd(u, v))
                    {
                        // u is full with slack: prune its list together with v.
                        lock (graph.LockOf(u))
                        {
                            ctx.Pool.Clear();
                            graph.CopyNeighbours(u, ctx.Pool);
                            ctx.Pool.Add(v);
                        }

                        Prune(space, u, ctx, alpha, s.MaxDegree, graph);
                    }
                }
            }

            var total = Interlocked.Add(ref done, end - first);
            options.Progress?.Invoke(progressFrom + (0.4 * total / n));
        }, chunk: 256);
    }

    /// <summary>Greedy search for <paramref name="target"/> from the medoid with a list of L on full vectors; leaves every
    /// expanded node in <c>ctx.Pool</c>.</summary>
    private static void GreedySearch(Graph graph, VectorView space, int medoid, ReadOnlySpan<float> target, BuildContext ctx)
    {
        var list = ctx.List;
        list.Clear();
        ctx.Pool.Clear();
        ctx.Visited.Reset(space.Count);
        ctx.Visited.Mark(medoid);
        list.Insert(VectorMath.L2Squared(target, space.Row(medoid)), medoid);
        Span<int> neighbours = stackalloc int[graph.Capacity];
        while (list.NextUnexpanded() is var at && at >= 0)
        {
            var node = list.Id(at);
            ctx.Pool.Add(node);
            var count = graph.CopyNeighbours(node, neighbours);
            foreach (var u in neighbours[..count])
            {
                if (ctx.Visited.Mark(u))
                {
                    var key = VectorMath.L2Squared(target, space.Row(u));
                    if (key < list.Worst)
                    {
                        list.Insert(key, u);
                    }
                }
            }
        }
    }

    /// <summary>RobustPrune(p, V, alpha, R) of the Vamana paper: candidates by distance to p; the closest p* is kept, and
    /// every candidate c with alpha · d(p*, c) ≤ d(p, c) is dropped (p* already leads towards it); repeat until R are kept
    /// or none remain. Replaces p's list.</summary>
    private static void Prune(VectorView space, int p, BuildContext ctx, float alpha, int maxDegree, Graph graph)
    {
        var pool = ctx.Pool;
        var target = space.Row(p);
        var cands = ctx.Candidates;
        cands.Clear();
        ctx.Seen.Reset(space.Count);
        foreach (var c in pool)
        {
            if (c != p && ctx.Seen.Mark(c))
            {
                cands.Add((VectorMath.L2Squared(target, space.Row(c)), c));
            }
        }

        cands.Sort(static (a, b) => a.Key != b.Key ? a.Key.CompareTo(b.Key) : a.Row.CompareTo(b.Row));
        var keys = ctx.PruneKeys(cands.Count);
        for (var i = 0; i < cands.Count; i++)
        {
            keys[i] = cands[i].Key;
        }

        Span<int> kept = stackalloc int[maxDegree];
        var count = 0;
        for (var i = 0; i < cands.Count && count < maxDegree; i++)
        {
            if (float.IsPositiveInfinity(keys[i]))
            {
                continue;
            }

            var star = cands[i].Row;
            kept[count++] = star;
            var starRow = space.Row(star);
            for (var j = i + 1; j < cands.Count; j++)
            {
                if (!float.IsPositiveInfinity(keys[j]) && alpha * VectorMath.L2Squared(starRow, space.Row(cands[j].Row)) <= keys[j])
                {
                    keys[j] = float.PositiveInfinity;
                }
            }
        }

        graph.Set(p, kept[..count]);
    }

    /// <summary>Per-thread build scratch.</summary>
    private sealed class BuildContext(int listSize, int count, int capacity)
    {
        private float[] _keys = new float[capacity + listSize];

        public CandidateList List { get; } = new(Math.Max(1, Math.Min(listSize, count)));

        public List<int> Pool { get; } = new(listSize + capacity);

        public List<(float Key, int Row)> Candidates { get; } = new(listSize + capacity);

        public VisitedSet Visited { get; } = new();

        public VisitedSet Seen { get; } = new();

        public Span<float> PruneKeys(int n)
        {
            if (_keys.Length < n)
            {
                _keys = new float[n * 2];
            }

            return _keys.AsSpan(0, n);
        }
    }

    /// <summary>The build's adjacency lists: up to <see cref="Capacity"/> rows per node (R plus slack). Writers lock the
    /// node; readers copy without a lock and may see a list mid-update, which is harmless (every slot always holds a
    /// valid row, and the count never exceeds the capacity).</summary>
    private sealed class Graph
    {
        private readonly int[] _links;
        private readonly int[] _degrees;
        private readonly object[] _locks;

        public Graph(int count, int maxDegree, int capacity)
        {
            Capacity = Math.Max(capacity, maxDegree);
            _links = new int[checked(count * Capacity)];
            _degrees = new int[count];
            _locks = new object[Math.Min(Math.Max(count, 1), 4096)];
            for (var i = 0; i < _locks.Length; i++)
            {
                _locks[i] = new object();
            }
        }

        public int Capacity { get; }

        public object LockOf(int node) => _locks[node % _locks.Length];

        public int Degree(int node) => Volatile.Read(ref _degrees[node]);

        public ReadOnlySpan<int> Neighbours(int node) => _links.AsSpan(node * Capacity, _degrees[node]);

        public int CopyNeighbours(int node, Span<int> into)
        {
            var count = Math.Min(Volatile.Read(ref _degrees[node]), Capacity);
            _links.AsSpan(node * Capacity, count).CopyTo(into);
            return count;
        }

        public void CopyNeighbours(int node, List<int> into)
        {
            var count = Math.Min(Volatile.Read(ref _degrees[node]), Capacity);
            foreach (var u in _links.AsSpan(node * Capacity, count))
            {
                into.Add(u);
            }
        }

        public void Set(int node, ReadOnlySpan<int> neighbours)
        {
            lock (LockOf(node))
            {
                // Shrink the count first, so that a concurrent reader never reads past what has been written.
                Volatile.Write(ref _degrees[node], Math.Min(_degrees[node], neighbours.Length));
                neighbours.CopyTo(_links.AsSpan(node * Capacity, neighbours.Length));
                Volatile.Write(ref _degrees[node], neighbours.Length);
            }
        }

        /// <summary>Adds the edge node → <paramref name="neighbour"/> unless present; false when the list is full.</summary>
        public bool TryAdd(int node, int neighbour)
        {
            lock (LockOf(node))
            {
                var list = _links.AsSpan(node * Capacity, _degrees[node]);
                if (list.Contains(neighbour))
                {
                    return true;
                }

                if (list.Length >= Capacity)
                {
                    return false;
                }

                _links[(node * Capacity) + list.Length] = neighbour;
                Volatile.Write(ref _degrees[node], list.Length + 1);
                return true;
            }
        }
    }
}
