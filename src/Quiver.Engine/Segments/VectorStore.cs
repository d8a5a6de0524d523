using Quiver.Distance;

namespace Quiver.Segments;

/// <summary>One vector field's rows in a segment, contiguous and row-major, plus each row's squared norm (used by
/// cosine scoring and the batched L2 kernel). Growing segments keep a growable array; sealed segments point into the
/// memory-mapped segment file, whose vector blocks are 64-byte aligned.</summary>
internal sealed unsafe class VectorStore
{
    private float[]? _array;
    private readonly float* _mapped;
    private float[] _squaredNorms;

    public VectorStore(int dimension, int capacity)
    {
        Dimension = dimension;
        _array = new float[checked(dimension * capacity)];
        _squaredNorms = new float[capacity];
        Capacity = capacity;
    }

    /// <summary>A store over mapped memory that the owning segment keeps alive.</summary>
    public VectorStore(int dimension, float* mapped, int count)
    {
        Dimension = dimension;
        _mapped = mapped;
        Capacity = count;
        _squaredNorms = new float[count];
        var all = new ReadOnlySpan<float>(mapped, checked(count * dimension));
        for (var i = 0; i < count; i++)
        {
            _squaredNorms[i] = VectorMath.SquaredNorm(all.Slice(i * dimension, dimension));
        }
    }

    public int Dimension { get; }

    public int Capacity { get; private set; }

    public bool IsMapped => _mapped != null;

    public void Grow(int capacity, int used)
    {
        if (capacity <= Capacity)
        {
            return;
        }

        var a = new float[checked(capacity * Dimension)];
        Array.Copy(_array!, a, (long)used * Dimension);
        var n = new float[capacity];
        Array.Copy(_squaredNorms, n, used);
        _array = a;
        _squaredNorms = n;
        Capacity = capacity;
    }

    public void Append(ReadOnlySpan<float> rows, int at)
    {
        rows.CopyTo(_array.AsSpan(at * Dimension));
        var count = rows.Length / Dimension;
        for (var i = 0; i < count; i++)
        {
            _squaredNorms[at + i] = VectorMath.SquaredNorm(rows.Slice(i * Dimension, Dimension));
        }
    }

    /// <summary>The first <paramref name="count"/> rows of an in-memory (growing) store, without a copy.</summary>
    public ReadOnlyMemory<float> Memory(int count) =>
        _array is { } a ? a.AsMemory(0, count * Dimension) : throw new InvalidOperationException("a mapped store has no managed memory");

    public VectorView View(int count) => _array is { } a
        ? new VectorView(a, null, Dimension, count, _squaredNorms)
        : new VectorView(null, _mapped, Dimension, count, _squaredNorms);
}

/// <summary>A snapshot of a vector field's first <see cref="Count"/> rows. Valid while the segment snapshot that made it is held.</summary>
internal readonly unsafe struct VectorView
{
    private readonly float[]? _array;
    private readonly float* _mapped;

    public VectorView(float[]? array, float* mapped, int dimension, int count, float[] squaredNorms)
    {
        _array = array;
        _mapped = mapped;
        Dimension = dimension;
        Count = count;
        SquaredNorms = squaredNorms;
    }

    public int Dimension { get; }

    public int Count { get; }

    public float[] SquaredNorms { get; }

    /// <summary>All rows, row-major.</summary>
    public ReadOnlySpan<float> All => _array is { } a
        ? a.AsSpan(0, Count * Dimension)
        : new ReadOnlySpan<float>(_mapped, Count * Dimension);

    public ReadOnlySpan<float> Row(int row) => All.Slice(row * Dimension, Dimension);
}
