using System.Runtime.CompilerServices;
using Quiver.Common;
using Quiver.Distance;

namespace Quiver.Segments;

/// <summary>One vector field's rows in a segment, row-major, plus each row's squared norm (used by cosine scoring and
/// the batched L2 kernel). Sealed segments point into the memory-mapped segment file, whose vector blocks are 64-byte
/// aligned and which stores the norms too, so that opening a segment computes nothing per row.
/// <para>Growing segments keep their rows in fixed-size chunks (<see cref="ChunkRows"/> rows each, about
/// <see cref="ChunkBytes"/>): a new chunk is added as rows arrive and no row is ever copied, so a growing segment's
/// memory follows its rows instead of a doubled array plus the garbage of the earlier doublings. Only the first chunk
/// grows by doubling (from the segment's initial capacity up to a whole chunk), so a small segment stays small. Every
/// chunk but the last is a whole number of pages (<see cref="SegmentFile.PageSize"/>), so sealing writes and checksums
/// them chunk by chunk. The squared norms (one float a row) and the null bitmap stay single arrays grown by doubling.</para>
/// <para>A nullable vector field also keeps a null bitmap (set bit = null row), only once some row is null; a null row
/// holds zeros in the vector block (and a zero norm) and is never a search candidate.</para></summary>
internal sealed unsafe class VectorStore
{
    /// <summary>The size a growing segment's vector chunk aims at: large enough that a scan's per-chunk step costs nothing
    /// against its rows, small enough that the unused part of the last chunk is a small share of a segment.</summary>
    public const int ChunkBytes = 1 << 20;

    // Chunks of 2^30 rows: a single array holds fewer rows of any dimension, so a store of one block stays one.
    private const int OneBlockShift = 30;

    private readonly MappedBlock? _mapped;
    private readonly MappedBlock? _mappedNorms;
    private readonly ReadOnlyMemory<ulong> _mappedNulls;
    private readonly int _chunkShift;

    // The spine of chunks: slots are filled in order and a filled slot is never changed in place (the first chunk's
    // doubling puts a new spine in its place), so a view holding an older spine reads its rows unchanged.
    private float[][]? _chunks;
    private int _chunkCount;
    private float[]? _squaredNorms;
    private ulong[]? _nulls;

    /// <summary>An in-memory store of one block with room for <paramref name="capacity"/> rows (it grows by doubling past
    /// them), whose view's <see cref="VectorView.All"/> reads every row: for tools that load a data set and index it.</summary>
    public VectorStore(int dimension, int capacity)
        : this(dimension, capacity, OneBlockShift)
    {
    }

    private VectorStore(int dimension, int capacity, int chunkShift)
    {
        Dimension = dimension;
        _chunkShift = chunkShift;
        _chunks = [new float[checked(dimension * Math.Min(Math.Max(capacity, 1), ChunkRows))]];
        _chunkCount = 1;
        _squaredNorms = new float[capacity];
        Capacity = capacity;
    }

    /// <summary>A store over mapped blocks (count x dimension floats, count squared norms) that the owning segment keeps
    /// alive; both are verified on the first <see cref="View"/>. <paramref name="nulls"/> is the null bitmap of a
    /// nullable field with a null row (empty otherwise), verified on its first read.</summary>
    public VectorStore(int dimension, MappedBlock vectors, MappedBlock squaredNorms, int count, ReadOnlyMemory<ulong> nulls = default)
    {
        Dimension = dimension;
        _mapped = vectors;
        _mappedNorms = squaredNorms;
        _mappedNulls = nulls;
        Capacity = count;
    }

    /// <summary>A growing segment's store with room for <paramref name="capacity"/> rows, in chunks of about
    /// <paramref name="chunkBytes"/> (<see cref="ChunkShift"/>).</summary>
    public static VectorStore Growing(int dimension, int capacity, int chunkBytes = ChunkBytes) =>
        new(dimension, capacity, ChunkShift(dimension, chunkBytes));

    public int Dimension { get; }

    /// <summary>Rows the norms and null bitmap have room for (the vector chunks are added as rows arrive).</summary>
    public int Capacity { get; private set; }

    /// <summary>Rows in each chunk of a growing store: a power of two, so that a chunk is a whole number of pages.</summary>
    public int ChunkRows => 1 << _chunkShift;

    public bool IsMapped => _mapped is not null;

    /// <summary>The chunk size for rows of <paramref name="dimension"/> floats: the largest power of two of rows within
    /// <paramref name="chunkBytes"/>, at least as many as make the chunk a whole number of pages.</summary>
    public static int ChunkShift(int dimension, int chunkBytes)
    {
        var rowBytes = (long)dimension * sizeof(float);
        var fit = Math.Max(1, chunkBytes / rowBytes);
        var shift = 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)fit);

        // rowBytes * 2^shift is a multiple of the page when 2^shift holds the page's powers of two that rowBytes lacks.
        var pageShift = Math.Max(0, SegmentFile.PageShift - System.Numerics.BitOperations.TrailingZeroCount(rowBytes));
        return Math.Max(shift, pageShift);
    }

    /// <summary>Makes room in the norms and null bitmap for <paramref name="capacity"/> rows (<paramref name="used"/> of
    /// them in use), in new arrays, so that a view taken before keeps reading the old ones unchanged.</summary>
    public void Grow(int capacity, int used)
    {
        if (capacity <= Capacity)
        {
            return;
        }

        var n = new float[capacity];
        Array.Copy(_squaredNorms!, n, used);
        if (_nulls is { } old)
        {
            var nulls = new ulong[Bitmap.WordCount(capacity)];
            old.CopyTo(nulls, 0);
            _nulls = nulls;
        }

        _squaredNorms = n;
        Capacity = capacity;
    }

    /// <summary>Appends rows at row <paramref name="at"/>; <paramref name="nulls"/> (from <paramref name="start"/> on, one
    /// flag a row) marks null rows, whose slots the batch holds as zeros. Call after <see cref="Grow"/> made room.</summary>
    public void Append(ReadOnlySpan<float> rows, int at, bool[]? nulls = null, int start = 0)
    {
        var count = rows.Length / Dimension;
        EnsureChunks(at + count);
        var chunks = _chunks!;
        var mask = ChunkRows - 1;
        for (var done = 0; done < count;)
        {
            var row = at + done;
            var n = Math.Min(count - done, ChunkRows - (row & mask));
            rows.Slice(done * Dimension, n * Dimension).CopyTo(chunks[row >> _chunkShift].AsSpan((row & mask) * Dimension));
            done += n;
        }

        for (var i = 0; i < count; i++)
        {
            _squaredNorms![at + i] = VectorMath.SquaredNorm(rows.Slice(i * Dimension, Dimension));
            if (nulls is not null && nulls[start + i])
            {
                _nulls ??= new ulong[Bitmap.WordCount(Capacity)];
                _nulls[(at + i) >> 6] |= 1UL << (at + i);
            }
        }
    }

    /// <summary>The first <paramref name="count"/> rows of an in-memory (growing) store, without a copy: one piece per
    /// chunk, in row order, every piece but the last a whole chunk.</summary>
    public ReadOnlyMemory<float>[] Memory(int count)
    {
        if (_chunks is not { } chunks)
        {
            throw new InvalidOperationException("a mapped store has no managed memory");
        }

        var pieces = new ReadOnlyMemory<float>[(count + ChunkRows - 1) >> _chunkShift];
        for (var c = 0; c < pieces.Length; c++)
        {
            var rows = Math.Min(ChunkRows, count - (c << _chunkShift));
            pieces[c] = chunks[c].AsMemory(0, rows * Dimension);
        }

        return pieces;
    }

    /// <summary>The squared norms of the first <paramref name="count"/> rows of an in-memory (growing) store.</summary>
    public ReadOnlyMemory<float> SquaredNorms(int count) =>
        _squaredNorms is { } n ? n.AsMemory(0, count) : throw new InvalidOperationException("a mapped store has no managed memory");

    public VectorView View(int count) => _chunks is { } c
        ? new VectorView(c, _chunkShift, Dimension, count, _squaredNorms!) { Nulls = _nulls }
        : new VectorView(_mapped!, _mappedNorms!, Dimension, count) { Nulls = _mappedNulls };

    /// <summary>Adds chunks until rows [0, <paramref name="rows"/>) have room.</summary>
    private void EnsureChunks(int rows)
    {
        var chunks = _chunks!;
        if (_chunkCount == 1 && chunks[0].Length < (long)Math.Min(rows, ChunkRows) * Dimension)
        {
            // The first chunk doubles up to a whole chunk, in a new spine (views hold the old one).
            var first = new float[checked(Dimension * Math.Min(ChunkRows, Math.Max(rows, chunks[0].Length / Dimension * 2)))];
            chunks[0].CopyTo(first, 0);
            var spine = new float[chunks.Length][];
            spine[0] = first;
            Volatile.Write(ref _chunks, spine);
            chunks = spine;
        }

        var needed = (rows + ChunkRows - 1) >> _chunkShift;
        if (needed > chunks.Length)
        {
            var spine = new float[Math.Max(needed, chunks.Length * 2)][];
            Array.Copy(chunks, spine, _chunkCount);
            Volatile.Write(ref _chunks, spine);
            chunks = spine;
        }

        for (; _chunkCount < needed; _chunkCount++)
        {
            // A slot past every view's rows: filled in place.
            Volatile.Write(ref chunks[_chunkCount], new float[checked(ChunkRows * Dimension)]);
        }
    }
}

/// <summary>A snapshot of a vector field's first <see cref="Count"/> rows. Valid while the segment snapshot that made it is held.
/// <para>Rows lie in blocks of contiguous rows: one block for a mapped store or an array, and one per chunk for a growing
/// store (<see cref="VectorStore"/>). Scans read block by block (<see cref="RowsInBlockAt"/>, <see cref="Rows"/>);
/// <see cref="All"/> is for views of one block (sealed segments, which index builds read).</para></summary>
internal readonly unsafe struct VectorView
{
    private readonly float[]? _array;
    private readonly float[][]? _chunks;
    private readonly int _chunkShift;
    private readonly float* _mapped;
    private readonly float[]? _norms;
    private readonly MappedBlock? _block;
    private readonly MappedBlock? _normsBlock;

    public VectorView(float[]? array, float* mapped, int dimension, int count, float[] squaredNorms)
    {
        _array = array;
        _mapped = mapped;
        _norms = squaredNorms;
        Dimension = dimension;
        Count = count;
    }

    /// <summary>A view over a growing store's chunks of 2^<paramref name="chunkShift"/> rows each.</summary>
    public VectorView(float[][] chunks, int chunkShift, int dimension, int count, float[] squaredNorms)
    {
        _chunks = chunks;
        _chunkShift = chunkShift;
        _norms = squaredNorms;
        Dimension = dimension;
        Count = count;
    }

    /// <summary>A view over mapped blocks, each verified when first read through <see cref="All"/>, <see cref="Row"/>
    /// or <see cref="SquaredNorms"/> (not when the view is made: a snapshot of a segment costs nothing per row).</summary>
    public VectorView(MappedBlock vectors, MappedBlock squaredNorms, int dimension, int count)
    {
        _block = vectors;
        _normsBlock = squaredNorms;
        Dimension = dimension;
        Count = count;
    }

    public int Dimension { get; }

    public int Count { get; }

    /// <summary>The null bitmap of a nullable field (set bit = null row, at least ceil(Count / 64) words), empty when no
    /// row of the view is null.</summary>
    public ReadOnlyMemory<ulong> Nulls { get; init; }

    /// <summary>True when some row may be null.</summary>
    public bool HasNulls => !Nulls.IsEmpty;

    /// <summary>Whether every row lies in one block, so that <see cref="All"/> can be read.</summary>
    public bool IsContiguous => _chunks is null || Count <= 1 << _chunkShift;

    /// <summary>Whether the row is null; a mapped bitmap verifies only the page of the row's word.</summary>
    public bool IsNull(int row) => !Nulls.IsEmpty && (MappedBlock.At(Nulls, row >> 6) & (1UL << row)) != 0;

    /// <summary>Each row's squared L2 norm; at least <see cref="Count"/> entries. Of a mapped block, verifies the whole
    /// block first (<see cref="SquaredNorm"/> reads one).</summary>
    public ReadOnlySpan<float> SquaredNorms =>
        _norms is { } n ? n : new ReadOnlySpan<float>((float*)_normsBlock!.Pointer, Count);

    /// <summary>One row's squared L2 norm; of a mapped block, only the page it lies in is verified.</summary>
    public float SquaredNorm(int row)
    {
        if (_normsBlock is not { } b)
        {
            return _norms![row];
        }

        if ((uint)row >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(row));
        }

        b.EnsureVerified((long)row * sizeof(float), sizeof(float));
        return ((float*)b.RawStart)[row];
    }

    /// <summary>The address of a row, NOT verified: only for a prefetch hint ahead of <see cref="Row"/>, which verifies
    /// the row's pages before any of its values is read.</summary>
    public void* RowAddressForPrefetch(int row) =>
        _chunks is { } c ? Unsafe.AsPointer(ref c[row >> _chunkShift][(row & ((1 << _chunkShift) - 1)) * Dimension])
        : _array is { } a ? Unsafe.AsPointer(ref a[row * Dimension])
        : (float*)(_block is { } b ? b.RawStart : (byte*)_mapped) + ((long)row * Dimension);

    /// <summary>All rows, row-major, of a view whose rows lie in one block (<see cref="IsContiguous"/>); a growing
    /// segment's rows past its first chunk are read block by block (<see cref="Rows"/>).</summary>
    public ReadOnlySpan<float> All
    {
        get
        {
            if (_chunks is { } c)
            {
                if (!IsContiguous)
                {
                    throw new InvalidOperationException($"the {Count} rows lie in chunks of {1 << _chunkShift}: read them block by block");
                }

                return c[0].AsSpan(0, Count * Dimension);
            }

            return _array is { } a
                ? a.AsSpan(0, Count * Dimension)
                : new ReadOnlySpan<float>(_block is { } b ? (float*)b.Pointer : _mapped, Count * Dimension);
        }
    }

    /// <summary>How many rows from <paramref name="start"/> on lie in its block (at most the rows left in the view).</summary>
    public int RowsInBlockAt(int start) =>
        _chunks is null ? Count - start : (int)Math.Min(Count, ((long)(start >> _chunkShift) + 1) << _chunkShift) - start;

    /// <summary>Rows [start, start + count), row-major, which must lie in one block (<see cref="RowsInBlockAt"/>).</summary>
    public ReadOnlySpan<float> Rows(int start, int count)
    {
        if (_chunks is not { } c)
        {
            return All.Slice(start * Dimension, count * Dimension);
        }

        if ((uint)start > (uint)Count || (uint)count > (uint)RowsInBlockAt(start))
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"rows {start}..{start + count} do not lie in one block of the view's {Count}");
        }

        return c[start >> _chunkShift].AsSpan((start & ((1 << _chunkShift) - 1)) * Dimension, count * Dimension);
    }

    /// <summary>One row; of a mapped block, only the pages the row lies in are verified (a get or a rerank reads a few
    /// rows of a large block), where <see cref="All"/> verifies the block.</summary>
    public ReadOnlySpan<float> Row(int row)
    {
        if (_chunks is { } c)
        {
            if ((uint)row >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(row));
            }

            return c[row >> _chunkShift].AsSpan((row & ((1 << _chunkShift) - 1)) * Dimension, Dimension);
        }

        if (_block is not { } b)
        {
            return All.Slice(row * Dimension, Dimension);
        }

        if ((uint)row >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(row));
        }

        var bytes = Dimension * sizeof(float);
        b.EnsureVerified((long)row * bytes, bytes);
        return new ReadOnlySpan<float>((float*)b.RawStart + ((long)row * Dimension), Dimension);
    }
}
