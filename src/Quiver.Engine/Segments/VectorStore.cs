using System.Runtime.CompilerServices;
using Quiver.Common;
using Quiver.Distance;

namespace Quiver.Segments;

/// <summary>One vector field's rows in a segment, contiguous and row-major, plus each row's squared norm (used by
/// cosine scoring and the batched L2 kernel). Growing segments keep growable arrays; sealed segments point into the
/// memory-mapped segment file, whose vector blocks are 64-byte aligned and which stores the norms too, so that opening
/// a segment computes nothing per row.
/// <para>A nullable vector field also keeps a null bitmap (set bit = null row), only once some row is null; a null row
/// holds zeros in the vector block (and a zero norm) and is never a search candidate.</para></summary>
internal sealed unsafe class VectorStore
{
    private readonly MappedBlock? _mapped;
    private readonly MappedBlock? _mappedNorms;
    private readonly ReadOnlyMemory<ulong> _mappedNulls;
    private float[]? _array;
    private float[]? _squaredNorms;
    private ulong[]? _nulls;

    public VectorStore(int dimension, int capacity)
    {
        Dimension = dimension;
        _array = new float[checked(dimension * capacity)];
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

    public int Dimension { get; }

    public int Capacity { get; private set; }

    public bool IsMapped => _mapped is not null;

    public void Grow(int capacity, int used)
    {
        if (capacity <= Capacity)
        {
            return;
        }

        var a = new float[checked(capacity * Dimension)];
        Array.Copy(_array!, a, (long)used * Dimension);
        var n = new float[capacity];
        Array.Copy(_squaredNorms!, n, used);
        if (_nulls is { } old)
        {
            // A new array, so that a view taken before keeps reading the old one unchanged.
            var nulls = new ulong[Bitmap.WordCount(capacity)];
            old.CopyTo(nulls, 0);
            _nulls = nulls;
        }

        _array = a;
        _squaredNorms = n;
        Capacity = capacity;
    }

    /// <summary>Appends rows at row <paramref name="at"/>; <paramref name="nulls"/> (from <paramref name="start"/> on, one
    /// flag a row) marks null rows, whose slots the batch holds as zeros.</summary>
    public void Append(ReadOnlySpan<float> rows, int at, bool[]? nulls = null, int start = 0)
    {
        rows.CopyTo(_array.AsSpan(at * Dimension));
        var count = rows.Length / Dimension;
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

    /// <summary>The first <paramref name="count"/> rows of an in-memory (growing) store, without a copy.</summary>
    public ReadOnlyMemory<float> Memory(int count) =>
        _array is { } a ? a.AsMemory(0, count * Dimension) : throw new InvalidOperationException("a mapped store has no managed memory");

    /// <summary>The squared norms of the first <paramref name="count"/> rows of an in-memory (growing) store.</summary>
    public ReadOnlyMemory<float> SquaredNorms(int count) =>
        _squaredNorms is { } n ? n.AsMemory(0, count) : throw new InvalidOperationException("a mapped store has no managed memory");

    public VectorView View(int count) => _array is { } a
        ? new VectorView(a, null, Dimension, count, _squaredNorms!) { Nulls = _nulls }
        : new VectorView(_mapped!, _mappedNorms!, Dimension, count) { Nulls = _mappedNulls };
}

/// <summary>A snapshot of a vector field's first <see cref="Count"/> rows. Valid while the segment snapshot that made it is held.</summary>
internal readonly unsafe struct VectorView
{
    private readonly float[]? _array;
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
        _array is { } a ? Unsafe.AsPointer(ref a[row * Dimension])
        : (float*)(_block is { } b ? b.RawStart : (byte*)_mapped) + ((long)row * Dimension);

    /// <summary>All rows, row-major.</summary>
    public ReadOnlySpan<float> All => _array is { } a
        ? a.AsSpan(0, Count * Dimension)
        : new ReadOnlySpan<float>(_block is { } b ? (float*)b.Pointer : _mapped, Count * Dimension);

    /// <summary>One row; of a mapped block, only the pages the row lies in are verified (a get or a rerank reads a few
    /// rows of a large block), where <see cref="All"/> verifies the block.</summary>
    public ReadOnlySpan<float> Row(int row)
    {
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
