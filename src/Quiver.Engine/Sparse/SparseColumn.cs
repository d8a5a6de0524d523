using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Quiver.Segments;

/// <summary>A <see cref="DataType.SparseFloatVector"/> field's rows: <see cref="SparseVector"/> objects (a growing
/// segment) or each row's pairs in Milvus's byte form in a mapped segment file (a sealed one), read in place by
/// <see cref="Dot"/> and <see cref="Pairs"/> and parsed into an object only when a row is output.</summary>
internal sealed class SparseColumn : ScalarColumn
{
    private readonly SparseVector?[]? _vectors;
    private readonly MappedValues _bytes;
    private readonly string _path = "";

    public SparseColumn(FieldSchema field, SparseVector?[] values, int count, ReadOnlyMemory<ulong> nulls)
        : base(field, count, nulls) => _vectors = values;

    public SparseColumn(FieldSchema field, MappedValues bytes, int count, ReadOnlyMemory<ulong> nulls, string path)
        : base(field, count, nulls)
    {
        _bytes = bytes;
        _path = path;
    }

    /// <summary>The row's vector (allocated from the mapping for a sealed segment); null for a null row.</summary>
    public SparseVector? Get(int row)
    {
        if (IsNull(row))
        {
            return null;
        }

        if (_vectors is { } v)
        {
            return v[row];
        }

        return SparseVector.TryFromStoredBytes(_bytes[row], out var error)
            ?? throw new CorruptionException(_path, $"sparse row {row} of field '{Field.Name}' does not parse: {error}");
    }

    /// <summary>The row's pairs as raw little-endian bytes (8 a pair); a growing segment's row is encoded on the fly into
    /// <paramref name="scratch"/>.</summary>
    public ReadOnlySpan<byte> Pairs(int row, ref byte[]? scratch)
    {
        if (_vectors is not { } v)
        {
            return _bytes[row];
        }

        if (v[row] is not { } vector)
        {
            return [];
        }

        var n = vector.Count * SparseVector.PairBytes;
        if (scratch is null || scratch.Length < n)
        {
            scratch = new byte[Math.Max(n, 256)];
        }

        vector.WriteBytes(scratch);
        return scratch.AsSpan(0, n);
    }

    /// <summary>Inner product of a row with a query; 0 for a null or empty row.</summary>
    public float Dot(int row, SparseVector query)
    {
        if (_vectors is { } v)
        {
            return v[row] is { } vector ? vector.Dot(query) : 0;
        }

        return DotBytes(_bytes[row], query.Indices, query.Values);
    }

    /// <summary>Inner product of a row in byte form with sorted query arrays, merging the two index lists.</summary>
    public static float DotBytes(ReadOnlySpan<byte> pairs, ReadOnlySpan<uint> qi, ReadOnlySpan<float> qv)
    {
        var n = pairs.Length / SparseVector.PairBytes;
        float sum = 0;
        int i = 0, j = 0;
        while (i < n && j < qi.Length)
        {
            var x = BinaryPrimitives.ReadUInt32LittleEndian(pairs[(i * SparseVector.PairBytes)..]);
            var y = qi[j];
            if (x == y)
            {
                sum += BinaryPrimitives.ReadSingleLittleEndian(pairs[((i * SparseVector.PairBytes) + 4)..]) * qv[j];
                i++;
                j++;
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

    public override object? GetValue(int row) => Get(row);

    /// <summary>The indices of a pair block (for building posting lists without allocating per row).</summary>
    public static void ReadPairs(ReadOnlySpan<byte> pairs, Span<uint> indices, Span<float> values)
    {
        var n = pairs.Length / SparseVector.PairBytes;
        if (BitConverter.IsLittleEndian)
        {
            var raw = MemoryMarshal.Cast<byte, uint>(pairs);
            for (var i = 0; i < n; i++)
            {
                indices[i] = raw[2 * i];
                values[i] = BitConverter.UInt32BitsToSingle(raw[(2 * i) + 1]);
            }

            return;
        }

        for (var i = 0; i < n; i++)
        {
            indices[i] = BinaryPrimitives.ReadUInt32LittleEndian(pairs[(i * 8)..]);
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(pairs[((i * 8) + 4)..]);
        }
    }
}
