using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;

namespace Quiver;

/// <summary>A sparse float vector (Milvus's SPARSE_FLOAT_VECTOR): dimension indices in strictly ascending order, each
/// with its float32 value. Immutable; the arrays are owned by the vector. Indices lie in [0, <see cref="MaxIndex"/>]
/// (Milvus: below 2^32 - 1); values are finite and not negative. The vector's dimension is its largest index + 1.
/// <para>Canonical engine value of a <see cref="DataType.SparseFloatVector"/> field (rows and columns), and the query of a
/// sparse search.</para></summary>
public sealed class SparseVector : IEquatable<SparseVector>
{
    /// <summary>Largest index accepted: 2^32 - 2 (Milvus keeps 2^32 - 1 out).</summary>
    public const uint MaxIndex = uint.MaxValue - 1;

    /// <summary>Most non-zero entries in one vector a client sends (a row of 4,096 × 8 bytes is 32 KiB). The term counts
    /// a BM25 function computes from a text are not bound by it (Milvus sets no limit on a document's distinct terms).</summary>
    public const int MaxEntries = 4_096;

    /// <summary>Bytes of one (index, value) pair in the wire and storage form.</summary>
    public const int PairBytes = 8;

    private readonly uint[] _indices;
    private readonly float[] _values;

    private SparseVector(uint[] indices, float[] values)
    {
        _indices = indices;
        _values = values;
    }

    /// <summary>The empty vector (it scores 0 against everything, so it is never a hit).</summary>
    public static SparseVector Empty { get; } = new([], []);

    /// <summary>Indices, strictly ascending.</summary>
    public ReadOnlySpan<uint> Indices => _indices;

    /// <summary>Values, one per index.</summary>
    public ReadOnlySpan<float> Values => _values;

    /// <summary>Non-zero entries stored.</summary>
    public int Count => _indices.Length;

    /// <summary>Largest index + 1 (0 for the empty vector), Milvus's <c>dim</c> of a sparse row.</summary>
    public long Dimension => _indices.Length == 0 ? 0 : _indices[^1] + 1L;

    /// <summary>A checked vector from parallel arrays (copied). Throws <see cref="QuiverException"/> (InvalidArgument)
    /// naming the problem: lengths differ, an index out of range, indices not strictly ascending, a value negative or
    /// not finite.</summary>
    public static SparseVector Create(ReadOnlySpan<uint> indices, ReadOnlySpan<float> values)
    {
        var v = TryCreate(indices.ToArray(), values.ToArray(), out var error);
        return v ?? throw new QuiverException(QuiverErrorCode.InvalidArgument, $"sparse vector: {error}");
    }

    /// <summary>A checked vector from (index, value) pairs in any order (sorted here; a repeated index is an error).</summary>
    public static SparseVector FromPairs(IEnumerable<KeyValuePair<uint, float>> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var list = pairs.ToList();
        list.Sort((a, b) => a.Key.CompareTo(b.Key));
        return Create([.. list.Select(p => p.Key)], [.. list.Select(p => p.Value)]);
    }

    /// <summary>Takes ownership of the arrays after checking them; null with <paramref name="error"/> when invalid.</summary>
    internal static SparseVector? TryCreate(uint[] indices, float[] values, out string? error) =>
        TryCreate(indices, values, MaxEntries, out error);

    /// <summary><see cref="TryCreate(uint[], float[], out string?)"/> with a bound of its own on the entries.</summary>
    internal static SparseVector? TryCreate(uint[] indices, float[] values, int maxEntries, out string? error)
    {
        error = Check(indices, values, maxEntries);
        return error is null ? new SparseVector(indices, values) : null;
    }

    /// <summary>The problem with a candidate vector, or null when it is valid.</summary>
    internal static string? Check(ReadOnlySpan<uint> indices, ReadOnlySpan<float> values) => Check(indices, values, MaxEntries);

    private static string? Check(ReadOnlySpan<uint> indices, ReadOnlySpan<float> values, int maxEntries)
    {
        if (indices.Length != values.Length)
        {
            return $"{indices.Length} indices but {values.Length} values";
        }

        if (indices.Length > maxEntries)
        {
            return $"{indices.Length} non-zero entries; at most {maxEntries}";
        }

        for (var i = 0; i < indices.Length; i++)
        {
            if (indices[i] > MaxIndex)
            {
                return $"index {indices[i]} is out of range [0, {MaxIndex}]";
            }

            if (i > 0 && indices[i] <= indices[i - 1])
            {
                return indices[i] == indices[i - 1]
                    ? $"index {indices[i]} appears twice"
                    : $"indices must be ascending: {indices[i]} follows {indices[i - 1]}";
            }

            if (!float.IsFinite(values[i]))
            {
                return $"the value at index {indices[i]} is {values[i].ToString(CultureInfo.InvariantCulture)}; values must be finite";
            }

            if (values[i] < 0)
            {
                return $"the value at index {indices[i]} is negative ({values[i].ToString(CultureInfo.InvariantCulture)}); values must be at least 0";
            }
        }

        return null;
    }

    /// <summary>Inner product: the sum over shared indices of the products of their values.</summary>
    public float Dot(SparseVector other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Dot(_indices, _values, other._indices, other._values);
    }

    /// <summary>Inner product of two sorted sparse vectors, by merging their index lists.</summary>
    internal static float Dot(ReadOnlySpan<uint> ai, ReadOnlySpan<float> av, ReadOnlySpan<uint> bi, ReadOnlySpan<float> bv)
    {
        float sum = 0;
        int i = 0, j = 0;
        while (i < ai.Length && j < bi.Length)
        {
            var x = ai[i];
            var y = bi[j];
            if (x == y)
            {
                sum += av[i++] * bv[j++];
            }
            else if (x < y)
            {
                i++;
            }
            else
            {
                j++;
            }
        }

        return sum;
    }

    /// <summary>Milvus's row bytes: little-endian (uint32 index, float32 value) pairs, ascending by index.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[_indices.Length * PairBytes];
        WriteBytes(bytes);
        return bytes;
    }

    /// <summary>Writes <see cref="ToBytes"/>'s form into <paramref name="destination"/> (at least Count × 8 bytes).</summary>
    public void WriteBytes(Span<byte> destination)
    {
        for (var i = 0; i < _indices.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[(i * PairBytes)..], _indices[i]);
            BinaryPrimitives.WriteSingleLittleEndian(destination[((i * PairBytes) + 4)..], _values[i]);
        }
    }

    /// <summary>Parses Milvus's row bytes, checking them as <see cref="Create"/> does; null with <paramref name="error"/>
    /// when invalid (a length that is not a multiple of 8 included).</summary>
    public static SparseVector? TryFromBytes(ReadOnlySpan<byte> bytes, out string? error) => TryFromBytes(bytes, MaxEntries, out error);

    /// <summary>Parses a stored row (the log and segments hold validated rows, BM25 term counts among them, which
    /// <see cref="MaxEntries"/> does not bind): every check of <see cref="TryFromBytes(ReadOnlySpan{byte}, out string?)"/>
    /// but the number of entries.</summary>
    internal static SparseVector? TryFromStoredBytes(ReadOnlySpan<byte> bytes, out string? error) => TryFromBytes(bytes, int.MaxValue, out error);

    private static SparseVector? TryFromBytes(ReadOnlySpan<byte> bytes, int maxEntries, out string? error)
    {
        if (bytes.Length % PairBytes != 0)
        {
            error = $"{bytes.Length} bytes is not a whole number of 8-byte (index, value) pairs";
            return null;
        }

        var n = bytes.Length / PairBytes;
        if (n > maxEntries)
        {
            error = $"{n} non-zero entries; at most {maxEntries}";
            return null;
        }

        var indices = new uint[n];
        var values = new float[n];
        for (var i = 0; i < n; i++)
        {
            indices[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(i * PairBytes)..]);
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[((i * PairBytes) + 4)..]);
        }

        return TryCreate(indices, values, maxEntries, out error);
    }

    /// <summary>The vector as a JSON object <c>{"index": value, ...}</c> (Milvus's REST form), ascending.</summary>
    public void WriteJson(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        for (var i = 0; i < _indices.Length; i++)
        {
            writer.WriteNumber(_indices[i].ToString(CultureInfo.InvariantCulture), _values[i]);
        }

        writer.WriteEndObject();
    }

    /// <inheritdoc />
    public bool Equals(SparseVector? other) =>
        other is not null && Indices.SequenceEqual(other.Indices) && Values.SequenceEqual(other.Values);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as SparseVector);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Indices));
        h.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Values));
        return h.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() =>
        "{" + string.Join(", ", Enumerable.Range(0, Count).Select(i => string.Create(CultureInfo.InvariantCulture, $"{_indices[i]}: {_values[i]}"))) + "}";
}
