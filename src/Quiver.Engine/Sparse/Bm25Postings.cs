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
/// evaluates the few frontier points at search time, which is what lets MaxScore skip rows exactly. Each list is also cut
/// into blocks of <see cref="BlockSize"/> postings with, per block, its last row and its largest tf and shortest row
/// (<see cref="BlockUpper"/>: a bound on every posting of the block), which lets block-max MaxScore skip whole blocks
/// whose rows cannot reach the k-th score.
/// <para>Terms are kept sorted (binary search, no per-term dictionary), so the structure is flat arrays that are
/// written as one index file (<see cref="Save"/>, docs/format-index.md) and mapped back without a copy
/// (<see cref="TryLoad"/>): a reopened collection does not rebuild postings or hold them on the managed heap. The two
/// large blocks (rows and frequencies, a posting each) carry a CRC-32C per 4 KiB page and are checked lazily, one
/// posting list on its first touch (<see cref="Range"/>, <see cref="List"/>), as segment format 4 checks its pages: the
/// first search after a reopen reads the lists of its query terms, not every posting of the segment.
/// Immutable; thread-safe.</para></summary>
internal sealed class Bm25Postings : IDisposable
{
    /// <summary>The layout version of the blocks below; a file of another version is rebuilt.</summary>
    public const int FormatVersion = 3;

    /// <summary>log2 of the postings per block of a list (<see cref="BlockSize"/>).</summary>
    public const int BlockShift = 6;

    /// <summary>Postings per block of a list (the last block of a list short).</summary>
    public const int BlockSize = 1 << BlockShift;

    /// <summary>log2 of the bytes per page checksum of the rows and frequencies blocks (stored in the version block).</summary>
    public const int PageShift = 12;

    private const string VersionBlock = "bm25_version";
    private const string TermsBlock = "bm25_terms";
    private const string OffsetsBlock = "bm25_offsets";
    private const string RowsBlock = "bm25_rows";
    private const string TfsBlock = "bm25_tfs";
    private const string LengthsBlock = "bm25_lengths";
    private const string FrontierAtBlock = "bm25_frontier_at";
    private const string FrontierBlock = "bm25_frontier";
    private const string RowPagesBlock = "bm25_rows_pages";
    private const string TfPagesBlock = "bm25_tfs_pages";
    private const string BlockAtBlock = "bm25_block_at";
    private const string BlockLastBlock = "bm25_block_last";
    private const string BlockMaxBlock = "bm25_block_max";

    private readonly ReadOnlyMemory<uint> _terms;
    private readonly ReadOnlyMemory<int> _offsets;
    private readonly ReadOnlyMemory<int> _rows;
    private readonly ReadOnlyMemory<float> _tfs;
    private readonly ReadOnlyMemory<float> _lengths;
    private readonly ReadOnlyMemory<int> _frontierAt;
    private readonly ReadOnlyMemory<float> _frontier;
    private readonly ReadOnlyMemory<int> _blockAt;
    private readonly ReadOnlyMemory<int> _blockLast;
    private readonly ReadOnlyMemory<float> _blockMax;
    private readonly IndexFileReader? _file;

    // Mapped postings only: the two lazily checked blocks and one bit per term, set once its list passed.
    private readonly MappedBlock? _rowsBlock;
    private readonly MappedBlock? _tfsBlock;
    private readonly ulong[]? _listsChecked;
    private long _checkedPostings;

    private Bm25Postings(
        ReadOnlyMemory<uint> terms, ReadOnlyMemory<int> offsets, ReadOnlyMemory<int> rows, ReadOnlyMemory<float> tfs,
        ReadOnlyMemory<float> lengths, ReadOnlyMemory<int> frontierAt, ReadOnlyMemory<float> frontier,
        ReadOnlyMemory<int> blockAt, ReadOnlyMemory<int> blockLast, ReadOnlyMemory<float> blockMax, IndexFileReader? file,
        MappedBlock? rowsBlock = null, MappedBlock? tfsBlock = null)
    {
        _blockAt = blockAt;
        _blockLast = blockLast;
        _blockMax = blockMax;
        _rowsBlock = rowsBlock;
        _tfsBlock = tfsBlock;
        _listsChecked = rowsBlock is null ? null : new ulong[(terms.Length + 63) >> 6];
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

    /// <summary>The file the lists are mapped from, or null.</summary>
    public string? Path => _file?.Path;

    /// <summary>Postings whose lists were checked so far (mapped postings; built ones need no check). Thread-safe.</summary>
    public long CheckedPostings => Interlocked.Read(ref _checkedPostings);

    /// <summary>The bytes of the arrays (the index's memory, mapped or on the managed heap): 8 per posting, 4 per row,
    /// 12 per term, 8 per frontier point and 12 per block.</summary>
    public long MemoryBytes =>
        ((long)_terms.Length * sizeof(uint)) + ((long)_offsets.Length * sizeof(int)) + ((long)_rows.Length * (sizeof(int) + sizeof(float)))
        + ((long)_lengths.Length * sizeof(float)) + ((long)_frontierAt.Length * sizeof(int)) + ((long)_frontier.Length * sizeof(float))
        + ((long)_blockAt.Length * sizeof(int)) + ((long)_blockLast.Length * sizeof(int)) + ((long)_blockMax.Length * sizeof(float));

    /// <summary>The index of the first block of the list in <paramref name="slot"/>; its blocks are the next
    /// ⌈list length / <see cref="BlockSize"/>⌉ (block j covers the list's postings [j·BlockSize, (j+1)·BlockSize)).</summary>
    public int FirstBlock(int slot) => _blockAt.Span[slot];

    /// <summary>Per block, the row of its last posting (checked with the list, see <see cref="Check"/>).</summary>
    public ReadOnlySpan<int> BlockLast => _blockLast.Span;

    /// <summary><paramref name="score"/>(largest tf of the block, shortest row of the block): at least the score of every
    /// posting of block <paramref name="block"/> (the score rises with tf and falls with |d|), though maybe of none.</summary>
    public float BlockUpper<TScore>(int block, in TScore score)
        where TScore : struct, ITermScore
    {
        var max = _blockMax.Span;
        return score.Term(max[2 * block], max[(2 * block) + 1]);
    }

    /// <summary>The lengths of every row (its term count).</summary>
    public ReadOnlySpan<float> Lengths => _lengths.Span;

    public float Length(int row) => _lengths.Span[row];

    /// <summary>The slot of <paramref name="term"/> in the sorted term list, or -1.</summary>
    public int Find(uint term) => _terms.Span.BinarySearch(term) is var i and >= 0 ? i : -1;

    /// <summary>Rows holding the term in slot <paramref name="slot"/> (all rows of the segment).</summary>
    public int DocumentFrequency(int slot) => _offsets.Span[slot + 1] - _offsets.Span[slot];

    /// <summary>Every posting's row, list after list (see <see cref="Range"/>); of mapped postings, only the lists
    /// <see cref="Range"/> or <see cref="List"/> returned are checked.</summary>
    public ReadOnlySpan<int> Rows => _rows.Span;

    /// <summary>Every posting's term frequency, aligned with <see cref="Rows"/>.</summary>
    public ReadOnlySpan<float> Tfs => _tfs.Span;

    /// <summary>Where the list of the term in <paramref name="slot"/> lies in <see cref="Rows"/>: [Start, End), checked
    /// (see <see cref="Check"/>).</summary>
    public (int Start, int End) Range(int slot)
    {
        Check(slot);
        return (_offsets.Span[slot], _offsets.Span[slot + 1]);
    }

    /// <summary>The posting list of the term in <paramref name="slot"/>: rows ascending and, in <paramref name="tfs"/>,
    /// each row's frequency of the term; checked (see <see cref="Check"/>).</summary>
    public ReadOnlySpan<int> List(int slot, out ReadOnlySpan<float> tfs)
    {
        var (start, end) = Range(slot);
        tfs = _tfs.Span[start..end];
        return _rows.Span[start..end];
    }

    /// <summary>Of mapped postings, on the list's first touch: the pages of the rows and frequencies blocks it spans
    /// against their checksums, and its rows ascending and inside the segment, so that a search never reads outside the
    /// segment. A failure is a <see cref="CorruptionException"/> naming the file, block and page (or term); the list is
    /// checked again at the next touch. Thread-safe (two first touches may both check).</summary>
    public void Check(int slot)
    {
        if (_listsChecked is not { } done || (Volatile.Read(ref done[slot >> 6]) & (1UL << (slot & 63))) != 0)
        {
            return;
        }

        var (start, end) = (_offsets.Span[slot], _offsets.Span[slot + 1]);
        if (end > start)
        {
            _rowsBlock!.EnsureVerified((long)start * sizeof(int), (long)(end - start) * sizeof(int));
            _tfsBlock!.EnsureVerified((long)start * sizeof(float), (long)(end - start) * sizeof(float));
            var rows = _rows.Span;
            for (var p = start; p < end; p++)
            {
                if ((uint)rows[p] >= (uint)RowCount || (p > start && rows[p] <= rows[p - 1]))
                {
                    Throw.Corrupt(_file!.Path, string.Create(
                        CultureInfo.InvariantCulture, $"{RowsBlock}: the list of term {_terms.Span[slot]} holds row {rows[p]} out of order or outside the segment's {RowCount}"));
                }
            }

            // Each block's last row, which block-max search steps by, must be the row of the block's last posting.
            var last = _blockLast.Span;
            for (int b = _blockAt.Span[slot], p = start; p < end; b++, p += BlockSize)
            {
                if (last[b] != rows[Math.Min(end, p + BlockSize) - 1])
                {
                    Throw.Corrupt(_file!.Path, string.Create(
                        CultureInfo.InvariantCulture, $"{BlockLastBlock}: block {b} of the list of term {_terms.Span[slot]} ends at row {last[b]}, its postings at {rows[Math.Min(end, p + BlockSize) - 1]}"));
                }
            }
        }

        Interlocked.Add(ref _checkedPostings, end - start);
        Interlocked.Or(ref done[slot >> 6], 1UL << (slot & 63));
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
        var (blockAt, blockLast, blockMax) = Blocks(offsets, rows, tfs, lengths);
        return new Bm25Postings(terms, offsets, rows, tfs, lengths, frontierAt, frontier, blockAt, blockLast, blockMax, null);
    }

    /// <summary>Blocks of <see cref="BlockSize"/> postings per list: where each list's blocks start, each block's last
    /// row, and each block's (largest tf, shortest row).</summary>
    private static (int[] At, int[] Last, float[] Max) Blocks(int[] offsets, int[] rows, float[] tfs, float[] lengths)
    {
        var at = new int[offsets.Length];
        for (var t = 0; t + 1 < offsets.Length; t++)
        {
            at[t + 1] = at[t] + BlocksOf(offsets[t + 1] - offsets[t]);
        }

        var last = new int[at[^1]];
        var max = new float[2 * at[^1]];
        for (var t = 0; t + 1 < offsets.Length; t++)
        {
            for (int b = at[t], p = offsets[t]; p < offsets[t + 1]; b++, p += BlockSize)
            {
                var end = Math.Min(offsets[t + 1], p + BlockSize);
                float tf = 0, shortest = float.PositiveInfinity;
                for (var q = p; q < end; q++)
                {
                    tf = Math.Max(tf, tfs[q]);
                    shortest = Math.Min(shortest, lengths[rows[q]]);
                }

                last[b] = rows[end - 1];
                max[2 * b] = tf;
                max[(2 * b) + 1] = shortest;
            }
        }

        return (at, last, max);
    }

    /// <summary>The blocks of a list of <paramref name="postings"/> postings.</summary>
    private static int BlocksOf(int postings) => (postings + BlockSize - 1) >> BlockShift;

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
        writer.Add(VersionBlock, new[] { FormatVersion, PageShift, BlockShift });
        writer.Add(TermsBlock, _terms);
        writer.Add(OffsetsBlock, _offsets);
        AddPaged(writer, RowsBlock, RowPagesBlock, _rows);
        AddPaged(writer, TfsBlock, TfPagesBlock, _tfs);
        writer.Add(LengthsBlock, _lengths);
        writer.Add(FrontierAtBlock, _frontierAt);
        writer.Add(FrontierBlock, _frontier);
        writer.Add(BlockAtBlock, _blockAt);
        writer.Add(BlockLastBlock, _blockLast);
        writer.Add(BlockMaxBlock, _blockMax);
        writer.WriteTo(fs, path);
    }

    /// <summary>Adds <paramref name="values"/> as a block checked on read and, verified at open, the table of its page
    /// checksums (one CRC-32C per 2^<see cref="PageShift"/> bytes, the last page short).</summary>
    private static void AddPaged<T>(IndexFileWriter writer, string name, string pagesName, ReadOnlyMemory<T> values)
        where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values.Span);
        var sums = new uint[(int)(((long)bytes.Length + (1 << PageShift) - 1) >> PageShift)];
        for (var p = 0; p < sums.Length; p++)
        {
            var start = p << PageShift;
            sums[p] = Crc32C.Compute(bytes.Slice(start, Math.Min(1 << PageShift, bytes.Length - start)));
        }

        writer.Add(name, bytes.Length, () => MemoryMarshal.AsBytes(values.Span), BlockOptions.VerifiedOnRead);
        writer.Add(pagesName, sums);
    }

    /// <summary>Maps the postings saved at <paramref name="path"/> for a segment of <paramref name="rowCount"/> rows;
    /// null (and <paramref name="problem"/> says why) when the file is missing, damaged, of another format version or
    /// does not fit the segment, so that the caller rebuilds it. The small blocks' checksums are verified here, and the
    /// shapes of the arrays against each other; the rows and frequencies are checked a list at a time when first read
    /// (<see cref="Check"/>).</summary>
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
            problem = CheckShapes(file, rowCount);
            if (problem is null)
            {
                var loaded = new Bm25Postings(
                    Mapped<uint>(file, TermsBlock), Mapped<int>(file, OffsetsBlock), Mapped<int>(file, RowsBlock), Mapped<float>(file, TfsBlock),
                    Mapped<float>(file, LengthsBlock), Mapped<int>(file, FrontierAtBlock), Mapped<float>(file, FrontierBlock),
                    Mapped<int>(file, BlockAtBlock), Mapped<int>(file, BlockLastBlock), Mapped<float>(file, BlockMaxBlock), file,
                    Paged(file, RowsBlock, RowPagesBlock), Paged(file, TfsBlock, TfPagesBlock));
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

    private static string? CheckShapes(IndexFileReader file, int rowCount)
    {
        if (file.Metric != MetricType.BM25 || !file.Has(VersionBlock))
        {
            return "not a BM25 postings file";
        }

        var version = file.Block<int>(VersionBlock);
        if (version.Length < 1 || version[0] != FormatVersion)
        {
            return string.Create(CultureInfo.InvariantCulture, $"postings format {(version.Length >= 1 ? version[0] : -1)}; this build writes {FormatVersion}");
        }

        if (version.Length != 3 || version[1] != PageShift || version[2] != BlockShift)
        {
            return "page size of the checksums or block size of the lists differs from this build's";
        }

        var terms = file.Block<uint>(TermsBlock);
        var offsets = file.Block<int>(OffsetsBlock);
        var rows = file.Block<int>(RowsBlock);
        var frontierAt = file.Block<int>(FrontierAtBlock);
        if (!file.Has(BlockAtBlock) || !file.Has(BlockLastBlock) || !file.Has(BlockMaxBlock))
        {
            return "block tables missing";
        }

        var blockAt = file.Block<int>(BlockAtBlock);
        if (file.Count != rowCount || file.Block<float>(LengthsBlock).Length != rowCount)
        {
            return string.Create(CultureInfo.InvariantCulture, $"written for {file.Count} rows, the segment has {rowCount}");
        }

        if (offsets.Length != terms.Length + 1 || frontierAt.Length != terms.Length + 1 || offsets[0] != 0 || offsets[^1] != rows.Length
            || file.Block<float>(TfsBlock).Length != rows.Length || frontierAt[0] != 0 || frontierAt[^1] * 2 != file.Block<float>(FrontierBlock).Length
            || blockAt.Length != terms.Length + 1 || blockAt[0] != 0 || file.Block<int>(BlockLastBlock).Length != blockAt[^1]
            || (long)blockAt[^1] * 2 != file.Block<float>(BlockMaxBlock).Length)
        {
            return "array lengths disagree";
        }

        for (var t = 0; t < terms.Length; t++)
        {
            if (offsets[t + 1] < offsets[t] || frontierAt[t + 1] < frontierAt[t] || (t > 0 && terms[t] <= terms[t - 1])
                || blockAt[t + 1] - blockAt[t] != BlocksOf(offsets[t + 1] - offsets[t]))
            {
                return "term lists out of order";
            }
        }

        if (!PagesFit(file, RowsBlock, RowPagesBlock) || !PagesFit(file, TfsBlock, TfPagesBlock))
        {
            return "page checksum tables do not fit their blocks";
        }

        return null;
    }

    private static bool PagesFit(IndexFileReader file, string name, string pagesName) =>
        file.Block<uint>(pagesName).Length == (int)(((long)file.Block(name).Length + (1 << PageShift) - 1) >> PageShift);

    private static unsafe MappedBlock Paged(IndexFileReader file, string name, string pagesName)
    {
        var sums = file.Block(pagesName);
        return new MappedBlock(file.Pointer(name), file.Block(name).Length, Crc32C.Compute(sums), (uint*)file.Pointer(pagesName), PageShift, file.Path, name);
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
