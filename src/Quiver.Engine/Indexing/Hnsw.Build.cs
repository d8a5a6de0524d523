using System.Runtime.CompilerServices;
using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>Construction: the paper's Algorithm 1 (INSERT) with Algorithm 4 (SELECT-NEIGHBORS-HEURISTIC), inserting
/// nodes in row order from several threads. As in hnswlib, each node's link lists are guarded by their own lock, and the
/// global lock is held for the whole insertion of a node that raises the top level.</summary>
internal sealed unsafe partial class HnswIndex
{
    private readonly object _entryLock = new();
    private int[]? _nodeLocks;

    private HnswIndex(MetricType metric, VectorView raw, IndexParameters buildParams, Settings settings, byte[] levels)
        : base(IndexKind.Hnsw, metric, raw, buildParams)
    {
        _m = settings.M;
        _maxM0 = 2 * settings.M;
        _efConstruction = Math.Max(settings.EfConstruction, settings.M);
        _dimPad = PadDimension(raw.Dimension);
        _stride = StrideOf(_dimPad, _maxM0);
        _upperListInts = _m + 1;
        var count = raw.Count;
        _level0 = (byte*)Own((nuint)Math.Max(1, count * (long)_stride), aligned: true);
        _levels = (byte*)Own((nuint)Math.Max(1, count), aligned: false);
        _upperStart = (int*)Own((nuint)Math.Max(1, count) * sizeof(int), aligned: false);
        long upper = 0;
        for (var n = 0; n < count; n++)
        {
            _levels[n] = levels[n];
            _upperStart[n] = levels[n] == 0 ? -1 : checked((int)upper);
            upper += levels[n] * (long)_upperListInts;
        }

        _upperInts = upper;
        _upper = (int*)Own((nuint)Math.Max(1, upper) * sizeof(int), aligned: false);
        _min = (float*)Own((nuint)_dimPad * sizeof(float), aligned: false);
        _step = (float*)Own((nuint)_dimPad * sizeof(float), aligned: false);
        _entryPoint = -1;
        _maxLevel = -1;
        Train(raw);
        (_invStep, _weights) = Tables(_step, _dimPad);
    }

    /// <summary>Builds an HNSW index over <paramref name="raw"/>.</summary>
    public static HnswIndex Build(MetricType metric, VectorView raw, IndexParameters p, IndexBuildOptions options, CancellationToken cancellationToken)
    {
        var settings = Settings.Parse(p);
        cancellationToken.ThrowIfCancellationRequested();
        var level0 = raw.Count * (long)StrideOf(PadDimension(raw.Dimension), 2 * settings.M);
        if (level0 > int.MaxValue)
        {
            // Checked before minutes of building: the layer-0 block is one file block, at most 2 GiB.
            throw new QuiverException(
                QuiverErrorCode.Capacity,
                $"{Owner}: {raw.Count} rows of dimension {raw.Dimension} with M {settings.M} need a {level0}-byte layer-0 block; at most {int.MaxValue} fit (lower M or SegmentMaxRows)");
        }

        var levels = Levels(raw.Count, settings.M, options.Seed);
        for (var n = 0; n < levels.Length; n++)
        {
            // A null vector is not inserted: level 0, no upper lists, so the top level is that of the inserted nodes.
            levels[n] = raw.IsNull(n) ? (byte)0 : levels[n];
        }

        var index = new HnswIndex(metric, raw, p, settings, levels);
        try
        {
            index.Encode(options.Threads, cancellationToken);
            index.Insert(options, cancellationToken);
            return index;
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    /// <summary>Each node's top layer, floor(-ln(U) * mL) with mL = 1/ln(M) (the paper's level generation), seeded.</summary>
    private static byte[] Levels(int count, int m, int seed)
    {
        var rng = new Random(seed);
        var ml = 1 / Math.Log(Math.Max(m, 2));
        var levels = new byte[count];
        for (var n = 0; n < count; n++)
        {
            levels[n] = (byte)Math.Min(MaxLevelCap, (int)(-Math.Log(1 - rng.NextDouble()) * ml));
        }

        return levels;
    }

    /// <summary>Per-dimension min and step of the SQ8 quantizer over the (normalized, for COSINE) vectors.</summary>
    private void Train(VectorView raw)
    {
        var dim = raw.Dimension;
        var lo = new float[dim];
        var hi = new float[dim];
        lo.AsSpan().Fill(float.PositiveInfinity);
        hi.AsSpan().Fill(float.NegativeInfinity);
        var buffer = new float[dim];
        var trained = 0;
        for (var n = 0; n < raw.Count; n++)
        {
            if (raw.IsNull(n))
            {
                continue; // a null vector (stored as zeros) is not in the index, so it does not shape the quantizer either
            }

            trained++;
            Normalized(raw.Row(n), buffer);
            for (var i = 0; i < dim; i++)
            {
                lo[i] = Math.Min(lo[i], buffer[i]);
                hi[i] = Math.Max(hi[i], buffer[i]);
            }
        }

        for (var i = 0; i < dim; i++)
        {
            _min[i] = trained == 0 ? 0 : lo[i];
            _step[i] = trained == 0 ? 0 : (hi[i] - lo[i]) / 255f;
        }
    }

    /// <summary>Writes every node's SQ8 code into its layer-0 slot.</summary>
    private void Encode(int threads, CancellationToken cancellationToken)
    {
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads), CancellationToken = cancellationToken };
        Parallel.For(0, (Count + 1023) / 1024, options, () => new float[Dimension], (chunk, _, buffer) =>
        {
            var end = Math.Min(Count, (chunk + 1) * 1024);
            for (var n = chunk * 1024; n < end; n++)
            {
                Normalized(Raw.Row(n), buffer);
                var code = Code(n);
                for (var i = 0; i < buffer.Length; i++)
                {
                    var c = _step[i] > 0 ? MathF.Round((buffer[i] - _min[i]) / _step[i]) : 0f;
                    code[i] = (byte)Math.Clamp(c, 0f, 255f);
                }
            }

            return buffer;
        }, _ => { });
    }

    private void Insert(IndexBuildOptions options, CancellationToken cancellationToken)
    {
        var count = Count;
        if (count == 0)
        {
            options.Progress?.Invoke(1);
            return;
        }

        _nodeLocks = new int[count];
        var next = 0;
        var done = 0;
        var step = Math.Max(1, count / 200);
        void Work()
        {
            var scratch = new Scratch();
            scratch.Ensure(this, _efConstruction);
            while (true)
            {
                var node = Interlocked.Increment(ref next) - 1;
                if (node >= count)
                {
                    return;
                }

                if ((node & 255) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                if (Raw.IsNull(node))
                {
                    // A null vector (Milvus 2.6 nullable vectors) is left out of the graph: no links to or from it, never
                    // the entry point, so no search can reach it whatever its allowed set.
                }
                else if (Metric == MetricType.L2)
                {
                    InsertNode<L2Space>(node, scratch);
                }
                else
                {
                    InsertNode<DotSpace>(node, scratch);
                }

                var d = Interlocked.Increment(ref done);
                if (d % step == 0 || d == count)
                {
                    options.Progress?.Invoke(d / (double)count);
                }
            }
        }

        var threads = Math.Clamp(options.Threads, 1, Math.Max(1, count / 64));
        if (threads == 1)
        {
            Work();
        }
        else
        {
            var tasks = new Task[threads];
            for (var t = 0; t < threads; t++)
            {
                tasks[t] = Task.Factory.StartNew(Work, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }

            try
            {
                Task.WaitAll(tasks, CancellationToken.None);
            }
            catch (AggregateException e) when (e.InnerExceptions.All(x => x is OperationCanceledException))
            {
                throw new OperationCanceledException(cancellationToken);
            }
            catch (AggregateException e)
            {
                // The first real failure, not "One or more errors occurred.", so progress reports say what went wrong.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions.First(x => x is not OperationCanceledException)).Throw();
            }
        }

        _nodeLocks = null;
    }

    private void InsertNode<TSpace>(int node, Scratch s)
        where TSpace : struct, ISpace
    {
        var level = (int)_levels[node];
        Normalized(Raw.Row(node), s.Normalized);
        var q = s.Query;
        var bias = PrepareSq8(s.Normalized, q);
        var w = WeightsPointer;

        // The global lock stays held for a node that raises the top level, so no thread sees the new entry point before
        // its upper lists exist.
        Monitor.Enter(_entryLock);
        var holding = true;
        try
        {
            var entry = _entryPoint;
            var top = _maxLevel;
            if (level <= top)
            {
                Monitor.Exit(_entryLock);
                holding = false;
            }

            if (entry < 0)
            {
                _entryPoint = node;
                _maxLevel = level;
                return;
            }

            var cur = entry;
            var curDist = Distance<TSpace>(q, w, bias, Code(cur), _dimPad);
            for (var l = top; l > level; l--)
            {
                (cur, curDist) = GreedyLocked<TSpace>(q, w, bias, cur, curDist, l, s);
            }

            for (var l = Math.Min(level, top); l >= 0; l--)
            {
                SearchLayerLocked<TSpace>(q, w, bias, cur, curDist, l, s);
                var n = s.Results.DrainAscending(s.Sorted);

                // The closest candidate found enters the next layer down (the paper: ep ← W).
                cur = s.Sorted[0].Id;
                curDist = s.Sorted[0].Dist;
                var selected = SelectHeuristic<TSpace>(s, n, _m);
                Connect<TSpace>(node, l, selected, s);
            }

            if (holding && level > _maxLevel)
            {
                _entryPoint = node;
                _maxLevel = level;
            }
        }
        finally
        {
            if (holding)
            {
                Monitor.Exit(_entryLock);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Lock(int node)
    {
        ref var l = ref _nodeLocks![node];
        if (Interlocked.CompareExchange(ref l, 1, 0) != 0)
        {
            var spin = default(SpinWait);
            while (Interlocked.CompareExchange(ref l, 1, 0) != 0)
            {
                spin.SpinOnce();
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Unlock(int node) => Volatile.Write(ref _nodeLocks![node], 0);

    /// <summary>Copies a node's list at a layer under its lock into <paramref name="buffer"/>; returns the count.</summary>
    private int CopyLinks(int node, int level, int[] buffer)
    {
        Lock(node);
        var list = Links(node, level);
        var n = list[0];
        new ReadOnlySpan<int>(list + 1, n).CopyTo(buffer);
        Unlock(node);
        return n;
    }

    private (int Node, float Dist) GreedyLocked<TSpace>(float* q, float* w, float bias, int cur, float curDist, int level, Scratch s)
        where TSpace : struct, ISpace
    {
        var changed = true;
        while (changed)
        {
            changed = false;
            var n = CopyLinks(cur, level, s.LinkCopy);
            for (var j = 0; j < n; j++)
            {
                var id = s.LinkCopy[j];
                var d = Distance<TSpace>(q, w, bias, Code(id), _dimPad);
                if (d < curDist)
                {
                    curDist = d;
                    cur = id;
                    changed = true;
                }
            }
        }

        return (cur, curDist);
    }

    /// <summary>The paper's Algorithm 2 (SEARCH-LAYER) with ef = efConstruction, reading lists under their locks; leaves
    /// the ef nearest in <c>s.Results</c>.</summary>
    private void SearchLayerLocked<TSpace>(float* q, float* w, float bias, int entry, float entryDist, int level, Scratch s)
        where TSpace : struct, ISpace
    {
        var visited = s.Start(entry, entryDist, entryIsResult: true);
        var mark = s.Epoch;
        var candidates = s.Candidates;
        var results = s.Results;
        var ef = _efConstruction;
        var fresh = s.Fresh;
        while (candidates.Count > 0)
        {
            var (negDist, c) = candidates.Top;
            if (-negDist > results.TopDist && results.Count >= ef)
            {
                break;
            }

            candidates.Pop();
            var copied = CopyLinks(c, level, s.LinkCopy);
            int n;
            fixed (int* ids = s.LinkCopy)
            {
                n = GatherFresh(ids, copied, visited, mark, fresh, _level0, _stride);
            }

            for (var j = 0; j < n; j++)
            {
                var id = fresh[j];
                if (j + 1 < n)
                {
                    PrefetchCode(Code(fresh[j + 1]), _dimPad);
                }

                var d = Distance<TSpace>(q, w, bias, Code(id), _dimPad);
                if (results.Count < ef || d < results.TopDist)
                {
                    candidates.Push(-d, id);
                    results.Push(d, id);
                    if (results.Count > ef)
                    {
                        results.Pop();
                    }
                }
            }
        }
    }

    /// <summary>The paper's Algorithm 4 without extending or keeping pruned candidates (as hnswlib): walk candidates
    /// nearest first and keep one only if it is closer to the base than to every one kept so far. Candidates are
    /// <c>s.Sorted[0..n)</c> ascending by distance to the base; the kept ones are moved to its front. Returns how many.</summary>
    private int SelectHeuristic<TSpace>(Scratch s, int n, int max)
        where TSpace : struct, ISpace
    {
        var sorted = s.Sorted;
        if (n <= max)
        {
            return n;
        }

        var kept = 0;
        var w = WeightsPointer;
        for (var i = 0; i < n && kept < max; i++)
        {
            var e = sorted[i];
            var good = true;
            for (var r = 0; r < kept; r++)
            {
                var between = Distance<TSpace>(s.Kept(r), w, s.KeptBias[r], Code(e.Id), _dimPad);
                if (between < e.Dist)
                {
                    good = false;
                    break;
                }
            }

            if (good)
            {
                s.KeptBias[kept] = PrepareNode(e.Id, s.Kept(kept));
                sorted[kept++] = e;
            }
        }

        return kept;
    }

    /// <summary>Sets the new node's list at a layer and adds it to each chosen neighbour's list, shrinking a full list
    /// with the heuristic.</summary>
    private void Connect<TSpace>(int node, int level, int selected, Scratch s)
        where TSpace : struct, ISpace
    {
        var chosen = s.Chosen;
        for (var i = 0; i < selected; i++)
        {
            chosen[i] = s.Sorted[i].Id;
        }

        Lock(node);
        var own = Links(node, level);
        own[0] = selected;
        new ReadOnlySpan<int>(chosen, 0, selected).CopyTo(new Span<int>(own + 1, selected));
        Unlock(node);

        var max = MaxLinks(level);
        var w = WeightsPointer;
        for (var i = 0; i < selected; i++)
        {
            var e = chosen[i];
            Lock(e);
            try
            {
                var list = Links(e, level);
                var n = list[0];
                if (n < max)
                {
                    list[1 + n] = node;
                    list[0] = n + 1;
                    continue;
                }

                // Full: the heuristic picks max among the old links and the new node, by distance from e.
                var bias = PrepareNode(e, s.Query2);
                var sorted = s.Sorted;
                for (var j = 0; j < n; j++)
                {
                    sorted[j] = new HeapItem(Distance<TSpace>(s.Query2, w, bias, Code(list[1 + j]), _dimPad), list[1 + j]);
                }

                sorted[n] = new HeapItem(Distance<TSpace>(s.Query2, w, bias, Code(node), _dimPad), node);
                Array.Sort(sorted, 0, n + 1, HeapItem.ByDistance);
                var kept = SelectHeuristic<TSpace>(s, n + 1, max);
                list[0] = kept;
                for (var j = 0; j < kept; j++)
                {
                    list[1 + j] = sorted[j].Id;
                }
            }
            finally
            {
                Unlock(e);
            }
        }
    }
}
