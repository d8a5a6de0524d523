using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Quiver.Common;
using Quiver.Distance;
using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>DISKANN (Subramanya et al., NeurIPS 2019): a Vamana graph whose nodes (full-precision vector plus neighbour
/// list) live on disk in a sector-aligned block of the index file, and product-quantized codes of every row in memory.
/// A search walks the graph from the medoid keeping a candidate list of <c>search_list</c> rows ranked by PQ distance;
/// each node it expands is read from disk once, which gives both its neighbours and its full vector, and the hits are
/// the expanded nodes ranked by exact distance. So resident memory is the PQ codes (about
/// <c>pq_code_budget_gb_ratio</c> of the vectors) plus the node cache, and everything else is page cache that the
/// kernel may evict.
/// <para>Build (<see cref="Build"/>, in <c>DiskAnn.Build.cs</c>): Milvus's <c>max_degree</c> (R, 1..512, default 56),
/// <c>search_list_size</c> (L of the build, 1..65535, default 100), <c>pq_code_budget_gb_ratio</c> (PQ code bytes per
/// vector byte, (0, 0.25], default 0.125), <c>search_cache_budget_gb_ratio</c> (node cache bytes per vector byte,
/// [0, 0.3), default 0.1). Search: <c>search_list</c> (1..65535, at least the limit; default 16 or the limit if larger).</para>
/// <para>COSINE stores normalized vectors and works as IP. IP builds its graph in the usual reduction of inner product
/// to L2 (one extra coordinate, sqrt(max|x|² - |x|²)), so robust pruning sees a metric; searches rank by -q.x.</para></summary>
internal sealed unsafe partial class DiskAnnIndex : VectorIndex
{
    internal const string Owner = "index DISKANN";
    internal const int DefaultSearchList = 16;
    internal const int MaxSearchList = 65_535;
    private const int MetaVersion = 1;

    private readonly IndexFileReader? _reader;
    private readonly ProductQuantizer _pq;
    private readonly MappedArray<byte> _codes;

    /// <summary>The node block: in the built index a pinned array, in a loaded one the memory map.</summary>
    private readonly byte* _nodes;
    private readonly byte[]? _builtNodes;
    private readonly long _nodeBlockBytes;
    private readonly NodeLayout _layout;
    private readonly int _medoid;

    /// <summary>Nodes copied off the disk block into memory at load (breadth first from the medoid): their slot in
    /// <see cref="_cache"/>, looked up before a node is read from the map.</summary>
    private readonly Dictionary<int, int> _cacheSlots;
    private readonly byte[] _cache;

    private DiskAnnIndex(
        MetricType metric, VectorView raw, IndexParameters p, ProductQuantizer pq, MappedArray<byte> codes, NodeLayout layout, int medoid,
        byte[]? builtNodes, byte* nodes, long nodeBlockBytes, IndexFileReader? reader)
        : base(IndexKind.DiskAnn, metric, raw, p)
    {
        _pq = pq;
        _codes = codes;
        _layout = layout;
        _medoid = medoid;
        _builtNodes = builtNodes;
        _nodes = nodes;
        _nodeBlockBytes = nodeBlockBytes;
        _reader = reader;
        (_cacheSlots, _cache) = BuildCache(Settings.Parse(p).CacheRatio);
    }

    /// <summary>The parsed build parameters, with Milvus's defaults.</summary>
    internal readonly record struct Settings(int MaxDegree, int BuildList, double PqRatio, double CacheRatio)
    {
        public static Settings Parse(IndexParameters p)
        {
            RejectBeamWidth(Owner, p);
            p.RejectUnknown(Owner, "max_degree", "search_list_size", "pq_code_budget_gb_ratio", "search_cache_budget_gb_ratio");
            var r = p.GetInt(Owner, "max_degree", 56, 1, 512);
            var l = p.GetInt(Owner, "search_list_size", 100, 1, MaxSearchList);
            var pq = p.GetDouble(Owner, "pq_code_budget_gb_ratio", 0.125, 0, 0.25);
            if (pq <= 0)
            {
                Throw.Invalid($"{Owner}: parameter 'pq_code_budget_gb_ratio' must be above 0 (got {pq}); it is the PQ code size per vector byte, at most 0.25");
            }

            var cache = p.GetDouble(Owner, "search_cache_budget_gb_ratio", 0.1, 0, 0.3);
            if (cache >= 0.3)
            {
                Throw.Invalid($"{Owner}: parameter 'search_cache_budget_gb_ratio' must be below 0.3 (got {cache})");
            }

            return new Settings(r, l, pq, cache);
        }
    }

    /// <summary>Where node i's record lies in the node block. A record is the vector (dim float32), the neighbour count
    /// (int32) and R neighbour rows (int32). Records never straddle a sector: several share one 4 KiB sector when they
    /// fit, else each takes whole sectors, as in DiskANN's disk layout.</summary>
    internal readonly record struct NodeLayout(int Dimension, int MaxDegree)
    {
        public int RecordBytes => (Dimension + 1 + MaxDegree) * sizeof(int);

        public int PerSector => Math.Max(1, IndexFile.SectorSize / RecordBytes);

        public int SectorsPerNode => RecordBytes <= IndexFile.SectorSize ? 1 : (RecordBytes + IndexFile.SectorSize - 1) / IndexFile.SectorSize;

        public long Offset(int node) => RecordBytes <= IndexFile.SectorSize
            ? ((long)(node / PerSector) * IndexFile.SectorSize) + ((long)(node % PerSector) * RecordBytes)
            : (long)node * SectorsPerNode * IndexFile.SectorSize;

        public long BlockBytes(int count) => count == 0 ? 0 : RecordBytes <= IndexFile.SectorSize
            ? (long)((count + PerSector - 1) / PerSector) * IndexFile.SectorSize
            : (long)count * SectorsPerNode * IndexFile.SectorSize;
    }

    /// <summary>PQ codes and codebooks, and the node cache: what a search keeps resident. The node block is read through
    /// the page cache and not counted.</summary>
    public override long MemoryBytes => _codes.Bytes + _pq.Codebooks.Bytes + _cache.Length + (_cacheSlots.Count * 12L);

    public override bool ServesFromFile => true;

    /// <summary>Bytes of the on-disk node block (vectors and graph).</summary>
    public long DiskBytes => _nodeBlockBytes;

    public static void Validate(IndexParameters p) => Settings.Parse(p);

    /// <summary>Milvus's <c>beam_width_ratio</c> (IO requests per search step per CPU) is refused by name: a search here
    /// reads one node per step through the memory map, so there are no parallel reads whose number it could set.</summary>
    internal static void RejectBeamWidth(string owner, IndexParameters p)
    {
        if (p.Has("beam_width_ratio"))
        {
            Throw.Invalid($"{owner}: 'beam_width_ratio' is not supported: Quiver's DISKANN reads one node per search step through a memory map "
                + "(the page cache), not in beams of parallel asynchronous reads, so there is no beam width to set; 'search_list' sets a search's effort");
        }
    }

    /// <summary>PQ sub-quantizers for a code budget: the largest divisor of the dimension not above ratio × 4 × dim bytes
    /// (8-bit codes, one byte each), at least 1.</summary>
    internal static int PqM(double ratio, int dimension)
    {
        var budget = Math.Clamp((int)Math.Floor(ratio * sizeof(float) * dimension), 1, dimension);
        for (var m = budget; m > 1; m--)
        {
            if (dimension % m == 0)
            {
                return m;
            }
        }

        return 1;
    }

    /// <summary>Code width: 8 bits, fewer when there are too few rows to train 256 centroids per subspace.</summary>
    internal static int PqBits(int count) => count >= 256 ? 8 : Math.Max(1, (int)Math.Floor(Math.Log2(Math.Max(count, 2))));

    /// <summary>The <c>search_list</c> of a search for <paramref name="k"/> hits: the given one (which must cover k), else
    /// the default widened to k.</summary>
    internal static int SearchListOf(in AnnSearchParams p, int k)
    {
        p.RequireSearchListCovers(k);
        return Math.Max(p.SearchList > 0 ? p.SearchList : DefaultSearchList, k);
    }

    public static DiskAnnIndex Load(IndexFileReader reader, VectorView raw)
    {
        var s = Settings.Parse(reader.BuildParams);
        var meta = reader.Block<int>("diskann_meta");
        if (meta.Length != 6 || meta[0] != MetaVersion)
        {
            Throw.Corrupt(reader.Path, $"{Owner}: meta block has {meta.Length} values or an unknown version");
        }

        var dim = raw.Dimension;
        var (r, medoid, m, nbits, recordBytes) = (meta[1], meta[2], meta[3], meta[4], meta[5]);
        var layout = new NodeLayout(dim, r);
        if (r != s.MaxDegree || m < 1 || m > dim || dim % m != 0 || nbits is < 1 or > 8 || recordBytes != layout.RecordBytes
            || (raw.Count > 0 && (medoid < 0 || medoid >= raw.Count)))
        {
            Throw.Corrupt(reader.Path, $"{Owner}: meta (R {r}, medoid {medoid}, m {m}, nbits {nbits}, record {recordBytes} bytes) does not fit {raw.Count} rows of dimension {dim} built with max_degree {s.MaxDegree}");
        }

        var ksub = 1 << nbits;
        var pq = new ProductQuantizer(dim, m, nbits, Copy(MappedArray<float>.Map(reader, "pq_codebooks", (long)ksub * dim)));

        // Codes are what a search touches for every candidate: copied off the map so they stay resident under memory
        // pressure, where mapped pages would be evicted along with the node block.
        var codes = Copy(MappedArray<byte>.Map(reader, "pq_codes", (long)raw.Count * m));
        if (ksub < 256)
        {
            var span = codes.Span;
            for (var i = 0; i < span.Length; i++)
            {
                if (span[i] >= ksub)
                {
                    Throw.Corrupt(reader.Path, $"{Owner}: PQ code {span[i]} at byte {i} is not below {ksub}");
                }
            }
        }

        var nodeBytes = layout.BlockBytes(raw.Count);
        var block = reader.Block("diskann_nodes");
        if (block.Length != nodeBytes)
        {
            Throw.Corrupt(reader.Path, $"{Owner}: node block is {block.Length} bytes; {raw.Count} nodes of {recordBytes} bytes take {nodeBytes}");
        }

        return new DiskAnnIndex(reader.Metric, raw, reader.BuildParams, pq, codes, layout, medoid, null, reader.Pointer("diskann_nodes"), nodeBytes, reader);
    }

    private static MappedArray<T> Copy<T>(MappedArray<T> mapped)
        where T : unmanaged
    {
        var copy = MappedArray<T>.Allocate(mapped.Length);
        mapped.Span.CopyTo(copy.Array);
        return copy;
    }

    public override void Write(IndexFileWriter writer)
    {
        writer.Add("diskann_meta", new[] { MetaVersion, _layout.MaxDegree, _medoid, _pq.M, _pq.Nbits, _layout.RecordBytes });
        _pq.Codebooks.AddTo(writer, "pq_codebooks");
        _codes.AddTo(writer, "pq_codes");
        var nodes = _nodes;
        var bytes = _nodeBlockBytes;
        writer.Add("diskann_nodes", bytes, () => new ReadOnlySpan<byte>(nodes, checked((int)bytes)), BlockOptions.SectorAligned | BlockOptions.VerifiedOnRead);
    }

    /// <summary>A search expands about search_list nodes (one node read, one exact distance each) and computes a PQ
    /// distance (m table lookups, about m / dim of an exact distance) for each new neighbour, about R / 2 per node; a
    /// filtered search expands 1/selectivity times more before its list holds enough allowed rows.</summary>
    public override double EstimateSearchCost(in AnnSearchParams p, int k, double selectivity)
    {
        var list = Math.Max(p.SearchList > 0 ? p.SearchList : DefaultSearchList, k);
        var expanded = Math.Min(list / Math.Clamp(selectivity, 1e-6, 1), Count);
        return (expanded * (1 + (_layout.MaxDegree / 2.0 * _pq.M / Math.Max(1, Dimension)))) + _pq.Ksub;
    }

    /// <summary>Widens search_list by 1/sqrt(selectivity), as HNSW widens ef.</summary>
    public override AnnSearchParams ForSelectivity(in AnnSearchParams p, int k, double selectivity)
    {
        var list = Math.Max(p.SearchList > 0 ? p.SearchList : DefaultSearchList, k);
        return selectivity >= 1 ? p with { SearchList = list }
            : p with { SearchList = (int)Math.Min(MaxSearchList, Math.Ceiling(list / Math.Sqrt(Math.Max(selectivity, 1e-6)))) };
    }

    public override int Search(ReadOnlySpan<float> query, int k, in AnnSearchParams p, Bitmap? allowed, Span<IndexHit> hits)
    {
        var listSize = SearchListOf(p, k);
        if (k <= 0 || Count == 0 || Raw.IsNull(_medoid))
        {
            // The medoid is null only when every row is: the graph holds no row (see NullRows).
            return 0;
        }

        listSize = Math.Min(listSize, Count);
        var s = DiskAnnScratch.Current;
        var dim = Dimension;
        var q = Prepare(query, s.Query(dim));
        var table = s.Table(_pq.M * _pq.Ksub);
        if (Metric == MetricType.L2)
        {
            _pq.L2Table(q, table);
        }
        else
        {
            _pq.InnerProductTable(q, -1, table);
        }

        var visited = s.Visited(Count);
        var list = s.List(listSize);
        var results = s.Results(k);
        visited.Mark(_medoid);
        list.Insert(PqKey(table, _medoid), _medoid);
        while (list.NextUnexpanded() is var at && at >= 0)
        {
            var node = list.Id(at);
            var record = Record(node);
            var vector = MemoryMarshal.Cast<byte, float>(record[..(dim * sizeof(float))]);
            if (allowed is null || allowed[node])
            {
                var key = Metric == MetricType.L2 ? VectorMath.L2Squared(q, vector) : -VectorMath.Dot(q, vector);
                if (key <= results.Threshold)
                {
                    results.Add(key, node);
                }
            }

            foreach (var v in Links(node, record))
            {
                if (visited.Mark(v))
                {
                    var pk = PqKey(table, v);
                    if (pk < list.Worst)
                    {
                        list.Insert(pk, v);
                    }
                }
            }
        }

        return results.DrainSorted(hits);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _reader?.Dispose();
        }
    }

    /// <summary>The record of a node: from the cache, else from the node block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> Record(int node)
    {
        var size = _layout.RecordBytes;
        if (_cacheSlots.Count > 0 && _cacheSlots.TryGetValue(node, out var slot))
        {
            return _cache.AsSpan(slot * size, size);
        }

        return new ReadOnlySpan<byte>(_nodes + _layout.Offset(node), size);
    }

    /// <summary>The links of a node record, checked: the block is not verified at open, so a count above R or a row
    /// outside the segment is corruption here, not a read past the block or the codes.</summary>
    private ReadOnlySpan<int> Links(int node, ReadOnlySpan<byte> record)
    {
        var degree = MemoryMarshal.Read<int>(record[(Dimension * sizeof(float))..]);
        if ((uint)degree > (uint)_layout.MaxDegree)
        {
            Throw.Corrupt(_reader?.Path ?? "(built index)", $"{Owner}: node {node} has {degree} neighbours; max_degree is {_layout.MaxDegree}");
        }

        var links = MemoryMarshal.Cast<byte, int>(record.Slice((Dimension + 1) * sizeof(int), degree * sizeof(int)));
        foreach (var v in links)
        {
            if ((uint)v >= (uint)Count)
            {
                Throw.Corrupt(_reader?.Path ?? "(built index)", $"{Owner}: node {node} links to row {v}; the segment has {Count}");
            }
        }

        return links;
    }

    /// <summary>PQ key of a row: the sum of its m table entries (squared L2 distance, or negated inner product).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float PqKey(ReadOnlySpan<float> table, int row)
    {
        var m = _pq.M;
        var ksub = _pq.Ksub;
        var code = _codes.Pointer + ((long)row * m);
        float a0 = 0, a1 = 0;
        var j = 0;
        for (; j + 1 < m; j += 2)
        {
            a0 += table[(j * ksub) + code[j]];
            a1 += table[((j + 1) * ksub) + code[j + 1]];
        }

        if (j < m)
        {
            a0 += table[(j * ksub) + code[j]];
        }

        return a0 + a1;
    }

    /// <summary>Copies the nodes nearest the medoid in hops (breadth first) into memory, up to <paramref name="ratio"/> of
    /// the vectors' bytes: every search starts there, so those nodes are read by every query (DiskANN's node cache).
    /// Neighbour rows are bounds-checked as the walk reads them.</summary>
    private (Dictionary<int, int> Slots, byte[] Cache) BuildCache(double ratio)
    {
        var size = _layout.RecordBytes;
        var budget = (long)(ratio * Count * Dimension * sizeof(float));
        var capacity = (int)Math.Min(Count, budget / size);
        var slots = new Dictionary<int, int>();
        if (capacity <= 0 || Count == 0)
        {
            return (slots, []);
        }

        var cache = GC.AllocateUninitializedArray<byte>(capacity * size);
        var queue = new Queue<int>();
        queue.Enqueue(_medoid);
        slots[_medoid] = 0;
        var taken = 0;
        while (queue.Count > 0 && taken < capacity)
        {
            var node = queue.Dequeue();
            var record = new ReadOnlySpan<byte>(_nodes + _layout.Offset(node), size);
            record.CopyTo(cache.AsSpan(slots[node] * size, size));
            taken++;
            foreach (var v in Links(node, record))
            {
                if (slots.Count < capacity && slots.TryAdd(v, slots.Count))
                {
                    queue.Enqueue(v);
                }
            }
        }

        return (slots, cache);
    }
}

/// <summary>Per-thread scratch of DISKANN searches; grows to the largest index searched on the thread.</summary>
internal sealed class DiskAnnScratch
{
    [ThreadStatic]
    private static DiskAnnScratch? t_current;

    private float[] _query = [];
    private float[] _table = [];
    private readonly VisitedSet _visited = new();
    private CandidateList? _list;
    private Search.TopK? _results;

    public static DiskAnnScratch Current => t_current ??= new DiskAnnScratch();

    public Span<float> Query(int n) => IvfScratch.Grow(ref _query, n);

    public Span<float> Table(int n) => IvfScratch.Grow(ref _table, n);

    public VisitedSet Visited(int count)
    {
        _visited.Reset(count);
        return _visited;
    }

    public CandidateList List(int capacity)
    {
        if (_list is null || _list.Capacity != capacity)
        {
            _list = new CandidateList(capacity);
        }

        _list.Clear();
        return _list;
    }

    public Search.TopK Results(int k)
    {
        if (_results is null || _results.Capacity != k)
        {
            _results = new Search.TopK(k);
        }

        _results.Clear();
        return _results;
    }
}

/// <summary>Rows seen by one search, cleared in O(1) by moving to a new epoch.</summary>
internal sealed class VisitedSet
{
    private int[] _marks = [];
    private int _epoch;

    public void Reset(int count)
    {
        if (_marks.Length < count)
        {
            _marks = new int[count];
            _epoch = 0;
        }

        if (++_epoch == int.MaxValue)
        {
            Array.Clear(_marks);
            _epoch = 1;
        }
    }

    /// <summary>Marks <paramref name="row"/>; true when it was not marked before.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Mark(int row)
    {
        ref var m = ref _marks[row];
        if (m == _epoch)
        {
            return false;
        }

        m = _epoch;
        return true;
    }
}

/// <summary>The candidate list of a greedy graph search (L in the Vamana paper): at most <see cref="Capacity"/> rows
/// sorted by key (ties by row), each flagged once expanded. Inserting shifts the tail, which at the list sizes used
/// (tens to hundreds) costs less than a heap's pointer chasing; the next unexpanded candidate is found from a cursor
/// that only moves back when an insert lands before it.</summary>
internal sealed class CandidateList
{
    private readonly float[] _keys;
    private readonly int[] _ids;
    private readonly bool[] _expanded;
    private int _cursor;

    public CandidateList(int capacity)
    {
        Capacity = capacity;
        _keys = new float[capacity];
        _ids = new int[capacity];
        _expanded = new bool[capacity];
    }

    public int Capacity { get; }

    public int Count { get; private set; }

    /// <summary>The key a row must beat to enter a full list; +Inf while there is room.</summary>
    public float Worst => Count < Capacity ? float.PositiveInfinity : _keys[Count - 1];

    public int Id(int at) => _ids[at];

    public float Key(int at) => _keys[at];

    public void Clear()
    {
        Count = 0;
        _cursor = 0;
    }

    public void Insert(float key, int id)
    {
        var at = Count;
        while (at > 0 && (_keys[at - 1] > key || (_keys[at - 1] == key && _ids[at - 1] > id)))
        {
            at--;
        }

        if (at >= Capacity)
        {
            return;
        }

        var move = Math.Min(Count, Capacity - 1) - at;
        if (move > 0)
        {
            Array.Copy(_keys, at, _keys, at + 1, move);
            Array.Copy(_ids, at, _ids, at + 1, move);
            Array.Copy(_expanded, at, _expanded, at + 1, move);
        }

        _keys[at] = key;
        _ids[at] = id;
        _expanded[at] = false;
        Count = Math.Min(Count + 1, Capacity);
        _cursor = Math.Min(_cursor, at);
    }

    /// <summary>Position of the best unexpanded candidate, now flagged expanded; -1 when every candidate is.</summary>
    public int NextUnexpanded()
    {
        while (_cursor < Count && _expanded[_cursor])
        {
            _cursor++;
        }

        if (_cursor >= Count)
        {
            return -1;
        }

        _expanded[_cursor] = true;
        return _cursor;
    }
}
