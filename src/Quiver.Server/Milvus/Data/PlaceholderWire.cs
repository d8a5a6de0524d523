using System.Runtime.InteropServices;
using Google.Protobuf;

namespace Quiver.Server.Milvus.Data;

/// <summary>
/// Reads a serialized <c>common.PlaceholderGroup</c> in place, walking the protobuf wire format instead of parsing it into
/// messages: the security gate only counts the query vectors, and a search of a FLOAT field reads its queries straight
/// into the float arrays the engine takes. Parsing into messages would copy every query vector once more per call.
/// </summary>
/// <remarks>PlaceholderGroup: field 1 = repeated PlaceholderValue (length-delimited). PlaceholderValue: field 1 tag
/// (string), field 2 type (enum, varint), field 3 = repeated bytes values. Fields may come in any order; other fields are
/// skipped by their wire type, as a protobuf parser skips unknown fields. A malformed group is ParameterInvalid, as
/// <see cref="RequestValues.ParseGroup"/> refuses it.</remarks>
internal static class PlaceholderWire
{
    /// <summary>The wire value of <c>PlaceholderType.FloatVector</c>.</summary>
    private const int FloatVectorType = 101;

    /// <summary>The number of query values of the group and the dimension of the first (0 when unknown).</summary>
    public static (int Count, int Dimension) Count(ByteString group)
    {
        var count = 0;
        var dimension = -1;
        var reader = new PlaceholderWireReader(group.Span);
        while (reader.NextPlaceholder(out var placeholder))
        {
            int type = 0, values = 0, firstLength = 0;
            while (!placeholder.AtEnd)
            {
                var (inner, innerWire) = placeholder.Tag();
                if (inner == 2 && innerWire == 0)
                {
                    type = (int)placeholder.Varint();
                }
                else if (inner == 3 && innerWire == 2)
                {
                    var length = placeholder.Bytes().Length;
                    firstLength = values++ == 0 ? length : firstLength;
                }
                else
                {
                    placeholder.Skip(innerWire);
                }
            }

            count += values;
            if (dimension < 0 && values > 0)
            {
                dimension = DimensionOf(type, firstLength);
            }
        }

        return (count, Math.Max(dimension, 0));
    }

    /// <summary>The queries of a group whose placeholders are all FloatVector, each checked against
    /// <paramref name="dimension"/> (ParameterInvalid naming the query, as <see cref="RequestValues.Placeholders"/> words
    /// it); null when the group is empty or holds a placeholder of another type, which the caller reads the general way.</summary>
    public static List<float[]>? FloatQueries(ByteString group, int dimension)
    {
        // First pass: every placeholder's type, so that a mixed group falls back before anything is allocated.
        var reader = new PlaceholderWireReader(group.Span);
        var count = 0;
        while (reader.NextPlaceholder(out var placeholder))
        {
            var type = 0;
            while (!placeholder.AtEnd)
            {
                var (inner, innerWire) = placeholder.Tag();
                if (inner == 2 && innerWire == 0)
                {
                    type = (int)placeholder.Varint();
                }
                else
                {
                    count += inner == 3 && innerWire == 2 ? 1 : 0;
                    placeholder.Skip(innerWire);
                }
            }

            if (type != FloatVectorType)
            {
                return null;
            }
        }

        if (count == 0)
        {
            return null;
        }

        var vectors = new List<float[]>(count);
        reader = new PlaceholderWireReader(group.Span);
        while (reader.NextPlaceholder(out var placeholder))
        {
            while (!placeholder.AtEnd)
            {
                var (inner, innerWire) = placeholder.Tag();
                if (inner != 3 || innerWire != 2)
                {
                    placeholder.Skip(innerWire);
                    continue;
                }

                var raw = placeholder.Bytes();
                RequestValues.CheckDimension(raw.Length, vectors.Count, dimension);

                var vector = new float[dimension];
                if (BitConverter.IsLittleEndian)
                {
                    MemoryMarshal.Cast<byte, float>(raw).CopyTo(vector);
                }
                else
                {
                    for (var d = 0; d < dimension; d++)
                    {
                        vector[d] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(raw[(d * sizeof(float))..]);
                    }
                }

                vectors.Add(vector);
            }
        }

        return vectors;
    }

    private static int DimensionOf(int type, int bytes) => type switch
    {
        100 => bytes * 8, // BinaryVector
        FloatVectorType => bytes / 4,
        102 or 103 => bytes / 2, // Float16Vector, BFloat16Vector
        105 => bytes, // Int8Vector
        _ => 0,
    };
}

/// <summary>Reads protobuf wire format from a span; a malformed message is refused as an invalid placeholder group.</summary>
internal ref struct PlaceholderWireReader(ReadOnlySpan<byte> data)
{
    private ReadOnlySpan<byte> _rest = data;

    /// <summary>Whether the message is read to its end.</summary>
    public readonly bool AtEnd => _rest.IsEmpty;

    /// <summary>Moves to the group's next PlaceholderValue (field 1), skipping other fields; false at the end.</summary>
    public bool NextPlaceholder(out PlaceholderWireReader placeholder)
    {
        while (!AtEnd)
        {
            var (field, wire) = Tag();
            if (field == 1 && wire == 2)
            {
                placeholder = new PlaceholderWireReader(Bytes());
                return true;
            }

            Skip(wire);
        }

        placeholder = default;
        return false;
    }

    /// <summary>The next field's number and wire type.</summary>
    public (int Field, int Wire) Tag()
    {
        var tag = Varint();
        var field = tag >> 3;
        if (field is 0 or > int.MaxValue)
        {
            Invalid("a field number is out of range");
        }

        return ((int)field, (int)(tag & 7));
    }

    /// <summary>A varint.</summary>
    public ulong Varint()
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (_rest.IsEmpty)
            {
                Invalid("the message ends inside a varint");
            }

            var b = _rest[0];
            _rest = _rest[1..];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        Invalid("a varint is longer than 10 bytes");
        return 0;
    }

    /// <summary>A length-delimited field's bytes.</summary>
    public ReadOnlySpan<byte> Bytes()
    {
        var length = Varint();
        if (length > (ulong)_rest.Length)
        {
            Invalid("a length-delimited field runs past the end of the message");
        }

        var bytes = _rest[..(int)length];
        _rest = _rest[(int)length..];
        return bytes;
    }

    /// <summary>Skips a field of wire type <paramref name="wire"/>.</summary>
    public void Skip(int wire)
    {
        switch (wire)
        {
            case 0: Varint(); break;
            case 1: Fixed(8); break;
            case 2: Bytes(); break;
            case 5: Fixed(4); break;
            default: Invalid($"wire type {wire} is not supported"); break;
        }
    }

    private void Fixed(int size)
    {
        if (_rest.Length < size)
        {
            Invalid("the message ends inside a fixed-size field");
        }

        _rest = _rest[size..];
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Invalid(string reason) =>
        throw new MilvusException(MilvusCode.ParameterInvalid, $"placeholder_group is not a valid PlaceholderGroup: {reason}");
}
