using Quiver.Common;
using Quiver.Distance;
using Quiver.Search;
using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>ANNOY: a forest of random-projection trees, after Spotify's Annoy. Each tree splits its rows recursively by
/// the hyperplane between two centres found by a short 2-means on a sample of the node's rows, until at most
/// <see cref="LeafSize"/> rows remain. A search walks all trees at once from one priority queue keyed by the smallest
/// margin on the path (so the nearest unexplored side of any tree comes next) until it has gathered
/// <c>search_k</c> candidate rows (counting only allowed rows when an allow-list is given), then scores the distinct
/// candidates exactly against the raw vectors.
/// <para>Build: <c>n_trees</c> (1..1024, default 8). Search: <c>search_k</c> (default -1: n_trees * k, as Annoy).
/// Splits are Euclidean on the vectors (normalized for COSINE); IP uses Euclidean splits on the raw vectors, which is a
/// heuristic for inner products.</para>
/// <para>Layout: node <c>i</c> has children <c>children[2i]</c> (below the plane) and <c>children[2i+1]</c> (above);
/// a child <c>c &lt; 0</c> is leaf <c>~c</c>, whose rows are <c>items[leaves[~c] .. leaves[~c + 1])</c>.</para></summary>
internal sealed class AnnoyIndex : VectorIndex
{
    /// <summary>Most rows in a leaf.</summary>
    public const int LeafSize = 32;

    private const string Owner = "index ANNOY";
    private const int SplitSample = 128;
    private const int SplitIterations = 4;

    private readonly IndexFileReader? _reader;
    private readonly MappedArray<int> _roots;
    private readonly MappedArray<int> _children;
    private readonly MappedArray<float> _offsets;
    private readonly MappedArray<float> _normals;
    private readonly MappedArray<int> _leaves;
    private readonly MappedArray<int> _items;

    private AnnoyIndex(MetricType metric, VectorView raw, IndexParameters p, in Forest forest, IndexFileReader? reader)
        : base(IndexKind.Annoy, metric, raw, p)
    {
        _roots = forest.Roots;
        _children = forest.Children;
        _offsets = forest.Offsets;
        _normals = forest.Normals;
        _leaves = forest.Leaves;
        _items = forest.Items;
        _reader = reader;
    }

    public int Trees => _roots.Length;

    /// <summary>search_k allowed candidates scored exactly, plus a bitmap check for each disallowed row the trees hand
    /// out on the way (about search_k / selectivity in all), plus the hyperplane products on the paths down.</summary>
    public override double EstimateSearchCost(in AnnSearchParams p, int k, double selectivity)
    {
        var searchK = p.SearchK > 0 ? (double)p.SearchK : (double)Trees * k;
        var depth = Math.Max(1, Math.Log2(Math.Max(1, Count / (double)LeafSize)));
        return Math.Min(searchK, Count) + (0.05 * Math.Min(searchK / Math.Clamp(selectivity, 1e-6, 1), Count)) + (Trees * depth);
    }

    /// <summary>Hyperplanes, child links, leaf bounds and leaf rows of every tree.</summary>
    public override long MemoryBytes => _roots.Bytes + _children.Bytes + _offsets.Bytes + _normals.Bytes + _leaves.Bytes + _items.Bytes;

    public static void Validate(IndexParameters p)
    {
        p.RejectUnknown(Owner, "n_trees");
        _ = p.GetInt(Owner, "n_trees", 8, 1, 1024);
    }

    public static AnnoyIndex Build(MetricType metric, IndexParameters p, VectorView raw, IndexBuildOptions options, CancellationToken cancellationToken)
    {
        Validate(p);
        var trees = p.GetInt(Owner, "n_trees", 8, 1, 1024);
        var space = IvfBuild.Space(metric, raw, options.Threads, cancellationToken);
        var built = new TreeBuilder[trees];
        var done = 0;
        Parallel.For(0, trees, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Threads), CancellationToken = cancellationToken }, t =>
        {
            built[t] = new TreeBuilder(space, options.Seed + (t * 7919), cancellationToken);
            options.Progress?.Invoke(Interlocked.Increment(ref done) / (double)trees);
        });
        return new AnnoyIndex(metric, raw, p, Merge(built, raw.Dimension), null);
    }

    public static AnnoyIndex Load(IndexFileReader reader, VectorView raw)
    {
        var meta = reader.Block<int>("annoy_meta");
        if (meta.Length != 3 || meta[0] < 1 || meta[1] < 0 || meta[2] < 0)
        {
            Throw.Corrupt(reader.Path, "ANNOY meta block is malformed");
        }

        var (trees, nodes, leaves) = (meta[0], meta[1], meta[2]);
        var forest = new Forest(
            MappedArray<int>.Map(reader, "annoy_roots", trees),
            MappedArray<int>.Map(reader, "annoy_children", 2L * nodes),
            MappedArray<float>.Map(reader, "annoy_offsets", nodes),
            MappedArray<float>.Map(reader, "annoy_normals", (long)nodes * raw.Dimension),
            MappedArray<int>.Map(reader, "annoy_leaves", leaves + 1L),
            MappedArray<int>.Map(reader, "annoy_items", AnnoyItems(reader, trees, raw.Count)));
        foreach (var c in forest.Children.Span)
        {
            if (c >= nodes || ~c >= leaves)
            {
                Throw.Corrupt(reader.Path, $"ANNOY child link {c} is out of range");
            }
        }

        foreach (var r in forest.Items.Span)
        {
            if ((uint)r >= (uint)raw.Count)
            {
                Throw.Corrupt(reader.Path, $"ANNOY leaf row {r} is out of range");
            }
        }

        CheckForest(reader.Path, forest, nodes, leaves);
        return new AnnoyIndex(reader.Metric, raw, reader.BuildParams, forest, reader);
    }

    /// <summary>Each tree holds the rows that have a vector (every row, or fewer when some are null): the items block is
    /// a whole number of trees' worth of at most <paramref name="rows"/> each.</summary>
    private static long AnnoyItems(IndexFileReader reader, int trees, int rows)
    {
        long items = reader.Block<int>("annoy_items").Length;
        if (items % trees != 0)
        {
            Throw.Corrupt(reader.Path, $"ANNOY items block holds {items} rows, not a multiple of {trees} trees");
        }

        return trees * NullRows.CheckedEntries(reader, items / trees, rows);
    }

    /// <summary>Checks that the links form a forest a search can walk without leaving the blocks or looping: every split
    /// node and every leaf is referenced exactly once (as a root or as a child), roots are in range, and the leaf bounds
    /// rise from 0 to the item count. A file that passes its checksums but came from a faulty writer is corrupt here,
    /// not a hung or crashing search.</summary>
    private static void CheckForest(string path, in Forest forest, int nodes, int leaves)
    {
        var nodeRefs = new byte[nodes];
        var leafRefs = new byte[leaves];

        void Reference(int link)
        {
            if (link >= 0)
            {
                if (link >= nodes || ++nodeRefs[link] > 1)
                {
                    Throw.Corrupt(path, $"ANNOY node {link} is out of range or linked twice");
                }
            }
            else if (~link >= leaves || ++leafRefs[~link] > 1)
            {
                Throw.Corrupt(path, $"ANNOY leaf {~link} is out of range or linked twice");
            }
        }

        foreach (var r in forest.Roots.Span)
        {
            Reference(r);
        }

        foreach (var c in forest.Children.Span)
        {
            Reference(c);
        }

        if (Array.IndexOf(nodeRefs, (byte)0) >= 0 || Array.IndexOf(leafRefs, (byte)0) >= 0)
        {
            Throw.Corrupt(path, "ANNOY forest has unreachable nodes or leaves");
        }

        var bounds = forest.Leaves.Span;
        if (bounds[0] != 0 || bounds[^1] != forest.Items.Length)
        {
            Throw.Corrupt(path, $"ANNOY leaf bounds run from {bounds[0]} to {bounds[^1]}, expected 0 to {forest.Items.Length}");
        }

        for (var i = 1; i < bounds.Length; i++)
        {
            if (bounds[i] < bounds[i - 1])
            {
                Throw.Corrupt(path, $"ANNOY leaf bounds fall at leaf {i}");
            }
        }
    }

    public override int Search(ReadOnlySpan<float> query, int k, in AnnSearchParams p, Bitmap? allowed, Span<IndexHit> hits)
    {
        if (k <= 0 || Count == 0)
        {
            return 0;
        }

        var s = Scratch.For(Count);
        var q = Prepare(query, s.Query(Dimension));
        var searchK = p.SearchK > 0 ? (long)p.SearchK : (long)Trees * k;
        var dim = Dimension;
        var children = _children.Span;
        var offsets = _offsets.Span;
        var normals = _normals.Span;
        var leaves = _leaves.Span;
        var items = _items.Span;
        var stamp = s.NextStamp();
        var marks = s.Marks;
        var queue = s.Queue;
        queue.Clear();
        foreach (var root in _roots.Span)
        {
            queue.Push(float.PositiveInfinity, root);
        }

        var gathered = 0L;
        var candidates = 0;
        while (gathered < searchK && queue.TryPop(out var priority, out var node))
        {
            if (node < 0)
            {
                var leaf = ~node;
                for (var i = leaves[leaf]; i < leaves[leaf + 1]; i++)
                {
                    var row = items[i];
                    if (allowed is not null && !allowed[row])
                    {
                        continue;
                    }

                    gathered++;
                    if (marks[row] != stamp)
                    {
                        marks[row] = stamp;
                        s.Candidate(candidates++) = row;
                    }
                }

                continue;
            }

            var margin = VectorMath.Dot(q, normals.Slice(node * dim, dim)) + offsets[node];
            queue.Push(MathF.Min(priority, margin), children[(2 * node) + 1]);
            queue.Push(MathF.Min(priority, -margin), children[2 * node]);
        }

        var heap = s.Heap(k);
        foreach (var row in s.Candidates(candidates))
        {
            var key = IvfBuild.ExactKey(Metric, Raw, q, row);
            if (key <= heap.Threshold)
            {
                heap.Add(key, row);
            }
        }

        return heap.DrainSorted(hits);
    }

    public override void Write(IndexFileWriter writer)
    {
        writer.Add("annoy_meta", (int[])[Trees, _offsets.Length, _leaves.Length - 1]);
        _roots.AddTo(writer, "annoy_roots");
        _children.AddTo(writer, "annoy_children");
        _offsets.AddTo(writer, "annoy_offsets");
        _normals.AddTo(writer, "annoy_normals");
        _leaves.AddTo(writer, "annoy_leaves");
        _items.AddTo(writer, "annoy_items");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _reader?.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Concatenates the trees into one set of arrays, renumbering nodes and leaves.</summary>
    private static Forest Merge(TreeBuilder[] trees, int dim)
    {
        var nodes = trees.Sum(t => t.Offsets.Count);
        var leafCount = trees.Sum(t => t.LeafStarts.Count);
        var itemCount = trees.Sum(t => t.Items.Length);
        var forest = new Forest(
            MappedArray<int>.Allocate(trees.Length),
            MappedArray<int>.Allocate(2 * nodes),
            MappedArray<float>.Allocate(nodes),
            MappedArray<float>.Allocate(nodes * dim),
            MappedArray<int>.Allocate(leafCount + 1),
            MappedArray<int>.Allocate(itemCount));
        int nodeBase = 0, leafBase = 0, itemBase = 0;
        for (var t = 0; t < trees.Length; t++)
        {
            var tree = trees[t];
            int Renumber(int c) => c >= 0 ? c + nodeBase : ~(~c + leafBase);
            forest.Roots.Array[t] = Renumber(tree.Root);
            for (var i = 0; i < tree.Children.Count; i++)
            {
                forest.Children.Array[(2 * nodeBase) + i] = Renumber(tree.Children[i]);
            }

            tree.Offsets.CopyTo(forest.Offsets.Array, nodeBase);
            tree.Normals.CopyTo(forest.Normals.Array, nodeBase * dim);
            for (var l = 0; l < tree.LeafStarts.Count; l++)
            {
                forest.Leaves.Array[leafBase + l] = itemBase + tree.LeafStarts[l];
            }

            tree.Items.CopyTo(forest.Items.Array, itemBase);
            nodeBase += tree.Offsets.Count;
            leafBase += tree.LeafStarts.Count;
            itemBase += tree.Items.Length;
        }

        forest.Leaves.Array[leafCount] = itemCount;
        return forest;
    }

    private readonly record struct Forest(
        MappedArray<int> Roots, MappedArray<int> Children, MappedArray<float> Offsets, MappedArray<float> Normals, MappedArray<int> Leaves, MappedArray<int> Items);

    /// <summary>Builds one tree: splits a permutation of the rows in place, node by node, from an explicit stack (a run of
    /// lopsided splits cannot overflow the call stack). Leaves are contiguous runs of the permutation.</summary>
    private sealed class TreeBuilder
    {
        private readonly VectorView _rows;
        private readonly Random _rng;

        public TreeBuilder(VectorView rows, int seed, CancellationToken cancellationToken)
        {
            _rows = rows;
            _rng = new Random(seed);
            Items = NullRows.Live(rows); // a null vector is in no tree (see NullRows)

            var dim = rows.Dimension;
            var normal = new float[dim];
            var stack = new Stack<(int Start, int End, int Parent, int Side)>();
            stack.Push((0, Items.Length, -1, 0));
            while (stack.Count > 0)
            {
                var (start, end, parent, side) = stack.Pop();
                int self;
                if (end - start <= LeafSize)
                {
                    self = ~LeafStarts.Count;
                    LeafStarts.Add(start);
                }
                else
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    self = Offsets.Count;
                    var mid = Split(start, end, normal, out var offset);
                    Offsets.Add(offset);
                    Normals.AddRange(normal);
                    Children.Add(0);
                    Children.Add(0);
                    stack.Push((mid, end, self, 1));
                    stack.Push((start, mid, self, 0));
                }

                if (parent < 0)
                {
                    Root = self;
                }
                else
                {
                    Children[(2 * parent) + side] = self;
                }
            }

            // Leaves were numbered in visiting order, which is also the order of their runs; their runs tile the items.
        }

        public int Root { get; private set; }

        public List<int> Children { get; } = [];

        public List<float> Offsets { get; } = [];

        public List<float> Normals { get; } = [];

        public List<int> LeafStarts { get; } = [];

        public int[] Items { get; }

        /// <summary>Finds a hyperplane for Items[start..end) and partitions the run around it; returns the first index
        /// above the plane. Falls back to a random halving when 2-means cannot separate the rows (duplicates).</summary>
        private int Split(int start, int end, float[] normal, out float offset)
        {
            var dim = _rows.Dimension;
            var n = end - start;
            var c0 = _rows.Row(Items[start + _rng.Next(n)]).ToArray();
            var c1 = _rows.Row(Items[start + _rng.Next(n)]).ToArray();
            var sums = new double[2 * dim];
            var sizes = new int[2];
            var sample = Math.Min(n, SplitSample);
            for (var it = 0; it < SplitIterations; it++)
            {
                Array.Clear(sums);
                Array.Clear(sizes);
                for (var i = 0; i < sample; i++)
                {
                    var v = _rows.Row(Items[start + (sample == n ? i : _rng.Next(n))]);
                    var side = VectorMath.L2Squared(v, c0) <= VectorMath.L2Squared(v, c1) ? 0 : 1;
                    sizes[side]++;
                    for (var d = 0; d < dim; d++)
                    {
                        sums[(side * dim) + d] += v[d];
                    }
                }

                for (var d = 0; d < dim && sizes[0] > 0 && sizes[1] > 0; d++)
                {
                    c0[d] = (float)(sums[d] / sizes[0]);
                    c1[d] = (float)(sums[dim + d] / sizes[1]);
                }
            }

            var mid = new float[dim];
            for (var d = 0; d < dim; d++)
            {
                normal[d] = c1[d] - c0[d];
                mid[d] = 0.5f * (c0[d] + c1[d]);
            }

            IvfBuild.Normalize(normal);
            offset = -VectorMath.Dot(normal, mid);
            var lo = start;
            var hi = end;
            while (lo < hi)
            {
                if (VectorMath.Dot(normal, _rows.Row(Items[lo])) + offset > 0)
                {
                    hi--;
                    (Items[lo], Items[hi]) = (Items[hi], Items[lo]);
                }
                else
                {
                    lo++;
                }
            }

            if (lo > start && lo < end)
            {
                return lo;
            }

            // No separating plane: split at random with a zero normal, so a search visits both halves alike.
            Array.Clear(normal);
            offset = 0;
            for (var i = n - 1; i > 0; i--)
            {
                var j = _rng.Next(i + 1);
                (Items[start + i], Items[start + j]) = (Items[start + j], Items[start + i]);
            }

            return start + (n / 2);
        }
    }

    /// <summary>Per-thread search state: the priority queue, candidate rows and visit marks (a stamp per row, so that
    /// clearing them is one increment).</summary>
    private sealed class Scratch
    {
        [ThreadStatic]
        private static Scratch? t_current;

        private float[] _query = [];
        private int[] _candidates = new int[256];
        private int _stamp;
        private TopK? _heap;

        public int[] Marks { get; private set; } = [];

        public MaxQueue Queue { get; } = new();

        public static Scratch For(int count)
        {
            var s = t_current ??= new Scratch();
            if (s.Marks.Length < count)
            {
                s.Marks = new int[count];
                s._stamp = 0;
            }

            return s;
        }

        public Span<float> Query(int n)
        {
            if (_query.Length < n)
            {
                _query = new float[n];
            }

            return _query.AsSpan(0, n);
        }

        public int NextStamp()
        {
            if (++_stamp == int.MaxValue)
            {
                Array.Clear(Marks);
                _stamp = 1;
            }

            return _stamp;
        }

        public ref int Candidate(int i)
        {
            if (i >= _candidates.Length)
            {
                Array.Resize(ref _candidates, _candidates.Length * 2);
            }

            return ref _candidates[i];
        }

        public ReadOnlySpan<int> Candidates(int n) => _candidates.AsSpan(0, n);

        public TopK Heap(int k)
        {
            if (_heap is null || _heap.Capacity != k)
            {
                _heap = new TopK(k);
            }

            _heap.Clear();
            return _heap;
        }
    }

    /// <summary>A binary max-heap of (priority, node) that keeps its arrays between searches.</summary>
    private sealed class MaxQueue
    {
        private float[] _priorities = new float[64];
        private int[] _nodes = new int[64];
        private int _count;

        public void Clear() => _count = 0;

        public void Push(float priority, int node)
        {
            if (_count == _nodes.Length)
            {
                Array.Resize(ref _priorities, _count * 2);
                Array.Resize(ref _nodes, _count * 2);
            }

            MaxHeap.SiftUp(_priorities, _nodes, _count++, priority, node);
        }

        public bool TryPop(out float priority, out int node)
        {
            if (_count == 0)
            {
                priority = 0;
                node = 0;
                return false;
            }

            priority = _priorities[0];
            node = _nodes[0];
            _count--;
            MaxHeap.ReplaceTop(_priorities, _nodes, _count, _priorities[_count], _nodes[_count]);
            return true;
        }
    }
}
