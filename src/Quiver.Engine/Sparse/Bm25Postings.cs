using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using Quiver.Indexing;
using Quiver.Segments;
using Quiver.Storage;

namespace Quiver.Sparse;

/// <summary>One sealed segment's BM25 postings: per term the rows holding it (ascending) with the term's frequency, each
/// row's length (its term count), and per term its score frontier: the (tf, |d|) pairs of its postings that no other
/// posting beats on both (a higher tf and a shorter row). A BM25 term score rises with tf and falls with |d| for every
/// k1, b and avgdl, so the best score of a term in the segment is reached on its frontier; <see cref="UpperBound"/>
/// evaluates the few frontier points at search time, which is what lets MaxScore skip rows exactly.
/// <para>Terms are kept sorted (binary search, no per-term dictionary), so the structure is flat arrays that are
/// written as one index file (<see cref="Save"/>, docs/format-index.md) and mapped back without a copy
/// (<see cref="TryLoad"/>): a reopened collection does not rebuild postings or hold them on the managed heap.
/// Immutable; thread-safe.</para></summary>
internal sealed class Bm25Postings : IDisposable
{
    /// <summary>The layout version of the blocks below; a file of another version is rebuilt.</summary>
    public const int FormatVersion = 1;

    private const string VersionBlock = "bm25_version";
    private const string TermsBlock = "bm25_terms";
    private const string OffsetsBlock = "bm25_offsets";
    private const string RowsBlock = "bm25_rows";
    private const string TfsBlock = "bm25_tfs";
    private const string LengthsBlock = "bm25_lengths";
    private const string FrontierAtBlock = "bm25_frontier_at";
    private const string FrontierBlock = "bm25_frontier";

    private readonly ReadOnlyMemory<uint> _terms;
    private readonly ReadOnlyMemory<int> _offsets;
    private readonly ReadOnlyMemory<int> _rows;
    private readonly ReadOnlyMemory<float> _tfs;
    private readonly ReadOnlyMemory<float> _lengths;
    private readonly ReadOnlyMemory<int> _frontierAt;
    private readonly ReadOnlyMemory<float> _frontier;
    private readonly IndexFileReader? _file;

    private Bm25Postings(
        ReadOnlyMemory<uint> terms, ReadOnlyMemory<int> offsets, ReadOnlyMemory<int> rows, ReadOnlyMemory<float> tfs,
        ReadOnlyMemory<float> lengths, ReadOnlyMemory<int> frontierAt, ReadOnlyMemory<float> frontier, IndexFileReader? file)
    {
        _terms = terms;
        _offsets = offsets;
        _rows = rows;
        _tfs = tfs;
        _lengths = lengths;
        _frontierAt = frontierAt;
        _frontier = frontier;
        _file = file;
        foreach (var l in lengths.Span)
        {
            TotalLength += l;
        }
    }

    /// <summary>Rows of the segment.</summary>
    public int RowCount => _lengths.Length;

    /// <summary>Distinct terms.</summary>
    public int TermCount => _terms.Length;

    /// <summary>Postings held.</summary>
    public long PostingCount => _rows.Length;

    /// <summary>Summed length of every row.</summary>
    public double TotalLength { get; }

    /// <summary>Whether the lists are mapped from a file (else built in memory).</summary>
    public bool IsMapped => _file is not null;

    public float Length(int row) => _lengths.Span[row];

    /// <summary>The slot of <paramref name="term"/> in the sorted term list, or -1.</summary>
    public int Find(uint term) => _terms.Span.BinarySearch(term) is var i and >= 0 ? i : -1;

    /// <summary>Rows holding the term in slot <paramref name="slot"/> (all rows of the segment).</summary>
    public int DocumentFrequency(int slot) => _offsets.Span[slot + 1] - _offsets.Span[slot];

    /// <summary>Every posting's row, list after list (see <see cref="Range"/>).</summary>
    public ReadOnlySpan<int> Rows => _rows.Span;

    /// <summary>Every posting's term frequency, aligned with <see cref="Rows"/>.</summary>
    public ReadOnlySpan<float> Tfs => _tfs.Span;

    /// <summary>Where the list of the term in <paramref name="slot"/> lies in <see cref="Rows"/>: [Start, End).</summary>
    public (int Start, int End) Range(int slot) => (_offsets.Span[slot], _offsets.Span[slot + 1]);

    /// <summary>The posting list of the term in <paramref name="slot"/>: rows ascending and, in <paramref name="tfs"/>,
    /// each row's frequency of the term.</summary>
    public ReadOnlySpan<int> List(int slot, out ReadOnlySpan<float> tfs)
    {
        var (start, end) = (_offsets.Span[slot], _offsets.Span[slot + 1]);
        tfs = _tfs.Span[start..end];
        return _rows.Span[start..end];
    }

    /// <summary>The largest <paramref name="score"/>(tf, |d|) over the postings of the term in <paramref name="slot"/>,
    /// evaluated on its frontier only.</summary>
    public float UpperBound<TScore>(int slot, in TScore score)
        where TScore : struct, ITermScore
    {
        var at = _frontierAt.Span;
        var points = _frontier.Span;
        float best = 0;
        for (var p = at[slot]; p < at[slot + 1]; p++)
        {
            best = Math.Max(best, score.Term(points[2 * p], points[(2 * p) + 1]));
        }

        return best;
    }

    public void Dispose() => _file?.Dispose();

    /// <summary>Builds the postings of rows [0, <paramref name="count"/>) of <paramref name="column"/>.</summary>
    public static Bm25Postings Build(SparseColumn column, int count, CancellationToken cancellationToken)
    {
        var lengths = new float[count];
        var sizes = new Dictionary<uint, int>();
        byte[]? scratch = null;
        long postings = 0;
        for (var row = 0; row < count; row++)
        {
            if ((row & 4095) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var pairs = column.Pairs(row, ref scratch);
            for (var i = 0; i < pairs.Length; i += SparseVector.PairBytes)
            {
                var (term, tf) = Pair(pairs, i);
                lengths[row] += tf;
                CollectionsMarshal.GetValueRefOrAddDefault(sizes, term, out _)++;
                postings++;
            }
        }

        if (postings >= Array.MaxLength)
        {
            throw new QuiverException(QuiverErrorCode.Capacity,
                string.Create(CultureInfo.InvariantCulture, $"a segment holds {postings} BM25 postings, more than one list can hold (use smaller segments)"));
        }

        var terms = sizes.Keys.ToArray();
        Array.Sort(terms);
        var offsets = new int[terms.Length + 1];
        var next = new Dictionary<uint, int>(terms.Length);
        for (var t = 0; t < terms.Length; t++)
        {
            offsets[t + 1] = offsets[t] + sizes[terms[t]];
            next[terms[t]] = offsets[t];
        }

        var rows = new int[postings];
        var tfs = new float[postings];
        for (var row = 0; row < count; row++)
        {
            var pairs = column.Pairs(row, ref scratch);
            for (var i = 0; i < pairs.Length; i += SparseVector.PairBytes)
            {
                var (term, tf) = Pair(pairs, i);
                ref var at = ref CollectionsMarshal.GetValueRefOrNullRef(next, term);
                rows[at] = row;
                tfs[at] = tf;
                at++;
            }
        }

        var (frontierAt, frontier) = Frontiers(offsets, rows, tfs, lengths, cancellationToken);
        return new Bm25Postings(terms, offsets, rows, tfs, lengths, frontierAt, frontier, null);
    }

    /// <summary>Per term, the postings not dominated by another (higher or equal tf with a strictly shorter row, or a
    /// strictly higher tf with an equal or shorter one), as (tf, |d|) pairs.</summary>
    private static (int[] At, float[] Points) Frontiers(int[] offsets, int[] rows, float[] tfs, float[] lengths, CancellationToken cancellationToken)
    {
        var at = new int[offsets.Length];
        var points = new List<float>();
        var order = new List<(float Tf, float Length)>();
        for (var t = 0; t + 1 < offsets.Length; t++)
        {
            if ((t & 1023) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            order.Clear();
            for (var p = offsets[t]; p < offsets[t + 1]; p++)
            {
                order.Add((tfs[p], lengths[rows[p]]));
            }

            // By tf descending, then length ascending: a point is on the frontier when it is shorter than every point
            // with a higher tf seen before it.
            order.Sort(static (x, y) => x.Tf != y.Tf ? y.Tf.CompareTo(x.Tf) : x.Length.CompareTo(y.Length));
            var shortest = float.PositiveInfinity;
            foreach (var (tf, length) in order)
            {
                if (length < shortest)
                {
                    points.Add(tf);
                    points.Add(length);
                    shortest = length;
                }
            }

            at[t + 1] = points.Count / 2;
        }

        return (at, [.. points]);
    }

    /// <summary>Writes the postings as an index file at <paramref name="path"/> (temp file, fsync, rename, fsync of the
    /// folder: a crash leaves the old state or the whole new file).</summary>
    public void Save(IFileSystem fs, string path, IndexKind kind)
    {
        var writer = new IndexFileWriter(kind, MetricType.BM25, 0, RowCount, new IndexParameters(new Dictionary<string, string>()));
        writer.Add(VersionBlock, new[] { FormatVersion });
        writer.Add(TermsBlock, _terms);
        writer.Add(OffsetsBlock, _offsets);
        writer.Add(RowsBlock, _rows);
        writer.Add(TfsBlock, _tfs);
        writer.Add(LengthsBlock, _lengths);
        writer.Add(FrontierAtBlock, _frontierAt);
        writer.Add(FrontierBlock, _frontier);
        writer.WriteTo(fs, path);
    }

    /// <summary>Maps the postings saved at <paramref name="path"/> for a segment of <paramref name="rowCount"/> rows;
    /// null (and <paramref name="problem"/> says why) when the file is missing, damaged, of another format version or
    /// does not fit the segment, so that the caller rebuilds it. Every block's checksum is verified here, and the
    /// shapes of the arrays against each other, so that a search never reads outside them.</summary>
    public static Bm25Postings? TryLoad(IFileSystem fs, string path, int rowCount, out string? problem)
    {
        problem = null;
        if (!fs.FileExists(path))
        {
            problem = "no file";
            return null;
        }

        IndexFileReader? file = null;
        try
        {
            file = IndexFile.Open(fs, path);
            problem = Check(file, rowCount);
            if (problem is null)
            {
                var loaded = new Bm25Postings(
                    Mapped<uint>(file, TermsBlock), Mapped<int>(file, OffsetsBlock), Mapped<int>(file, RowsBlock), Mapped<float>(file, TfsBlock),
                    Mapped<float>(file, LengthsBlock), Mapped<int>(file, FrontierAtBlock), Mapped<float>(file, FrontierBlock), file);
                file = null;
                return loaded;
            }
        }
        catch (CorruptionException e)
        {
            problem = e.Message;
        }
        finally
        {
            file?.Dispose();
        }

        return null;
    }

    private static string? Check(IndexFileReader file, int rowCount)
    {
        if (file.Metric != MetricType.BM25 || !file.Has(VersionBlock))
        {
            return "not a BM25 postings file";
        }

        var version = file.Block<int>(VersionBlock);
        if (version.Length != 1 || version[0] != FormatVersion)
        {
            return string.Create(CultureInfo.InvariantCulture, $"postings format {(version.Length == 1 ? version[0] : -1)}; this build writes {FormatVersion}");
        }

        var terms = file.Block<uint>(TermsBlock);
        var offsets = file.Block<int>(OffsetsBlock);
        var rows = file.Block<int>(RowsBlock);
        var frontierAt = file.Block<int>(FrontierAtBlock);
        if (file.Count != rowCount || file.Block<float>(LengthsBlock).Length != rowCount)
        {
            return string.Create(CultureInfo.InvariantCulture, $"written for {file.Count} rows, the segment has {rowCount}");
        }

        if (offsets.Length != terms.Length + 1 || frontierAt.Length != terms.Length + 1 || offsets[0] != 0 || offsets[^1] != rows.Length
            || file.Block<float>(TfsBlock).Length != rows.Length || frontierAt[0] != 0 || frontierAt[^1] * 2 != file.Block<float>(FrontierBlock).Length)
        {
            return "array lengths disagree";
        }

        for (var t = 0; t < terms.Length; t++)
        {
            if (offsets[t + 1] < offsets[t] || frontierAt[t + 1] < frontierAt[t] || (t > 0 && terms[t] <= terms[t - 1]))
            {
                return "term lists out of order";
            }
        }

        foreach (var r in rows)
        {
            if ((uint)r >= (uint)rowCount)
            {
                return "a posting names a row outside the segment";
            }
        }

        return null;
    }

    private static ReadOnlyMemory<T> Mapped<T>(IndexFileReader file, string block)
        where T : unmanaged => new MappedMemory<T>(file, block).Memory;

    internal static (uint Term, float Tf) Pair(ReadOnlySpan<byte> pairs, int at) =>
        (BinaryPrimitives.ReadUInt32LittleEndian(pairs[at..]), BinaryPrimitives.ReadSingleLittleEndian(pairs[(at + 4)..]));

    /// <summary>A block of a mapped index file as memory; valid while the file is open (the postings own it).</summary>
    private sealed unsafe class MappedMemory<T>(IndexFileReader file, string block) : MemoryManager<T>
        where T : unmanaged
    {
        private readonly byte* _pointer = file.Pointer(block);
        private readonly int _length = file.Block<T>(block).Length;

        public override Span<T> GetSpan() => new(_pointer, _length);

        public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + ((long)elementIndex * sizeof(T)));

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}

/// <summary>A BM25 term score as a function of (tf, |d|), rising in tf and falling in |d|.</summary>
internal interface ITermScore
{
    float Term(float tf, float length);
}
