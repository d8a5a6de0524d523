using System.Buffers.Binary;
using Google.Protobuf;

namespace Quiver.Client.Remote;

/// <summary>
/// Writes and reads Milvus's <c>common.PlaceholderGroup</c>, the bytes of <c>SearchRequest.placeholder_group</c>:
/// <c>PlaceholderGroup { repeated PlaceholderValue placeholders = 1; }</c> and <c>PlaceholderValue { string tag = 1;
/// PlaceholderType type = 2; repeated bytes values = 3; }</c>, one placeholder tagged <c>$0</c> of type FloatVector (101)
/// whose values are the query vectors, each as little-endian float32 components. Encoded by hand because the
/// generated protocol does not include these two messages (no RPC names them: they travel as bytes).
/// </summary>
internal static class Placeholders
{
    /// <summary>Milvus's PlaceholderType.FloatVector.</summary>
    public const int FloatVectorType = 101;

    /// <summary>The tag Milvus SDKs give the one placeholder of a search.</summary>
    public const string Tag = "$0";

    /// <summary>The serialized PlaceholderGroup of the query vectors.</summary>
    public static byte[] Encode(IReadOnlyList<float[]> vectors)
    {
        var value = new MemoryStream();
        var v = new CodedOutputStream(value, leaveOpen: true);
        v.WriteTag(1, WireFormat.WireType.LengthDelimited);
        v.WriteString(Tag);
        v.WriteTag(2, WireFormat.WireType.Varint);
        v.WriteEnum(FloatVectorType);
        for (var i = 0; i < vectors.Count; i++)
        {
            var vector = vectors[i] ?? throw new QuiverException(QuiverErrorCode.InvalidArgument, $"search: query vector {i} is null");
            var bytes = new byte[vector.Length * sizeof(float)];
            for (var d = 0; d < vector.Length; d++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(d * sizeof(float)), vector[d]);
            }

            v.WriteTag(3, WireFormat.WireType.LengthDelimited);
            v.WriteBytes(ByteString.CopyFrom(bytes));
        }

        v.Flush();
        var group = new MemoryStream();
        var g = new CodedOutputStream(group, leaveOpen: true);
        g.WriteTag(1, WireFormat.WireType.LengthDelimited);
        g.WriteBytes(ByteString.CopyFrom(value.GetBuffer(), 0, (int)value.Length));
        g.Flush();
        return group.ToArray();
    }

    /// <summary>Reads a PlaceholderGroup of float vectors back (for tests and diagnostics): the tag, type and vectors of
    /// its first placeholder. Throws InvalidArgument when the bytes are not one.</summary>
    public static (string Tag, int Type, List<float[]> Vectors) Decode(ReadOnlySpan<byte> bytes)
    {
        var input = new CodedInputStream(bytes.ToArray());
        string? tag = null;
        var type = 0;
        var vectors = new List<float[]>();
        var found = false;
        uint t;
        while ((t = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(t) != 1 || found)
            {
                input.SkipLastField();
                continue;
            }

            found = true;
            var value = new CodedInputStream(input.ReadBytes().ToByteArray());
            uint vt;
            while ((vt = value.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(vt))
                {
                    case 1: tag = value.ReadString(); break;
                    case 2: type = value.ReadEnum(); break;
                    case 3:
                        var raw = value.ReadBytes().Span;
                        if (raw.Length % sizeof(float) != 0)
                        {
                            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"placeholder value {vectors.Count} has {raw.Length} bytes, not a whole number of float32");
                        }

                        var v = new float[raw.Length / sizeof(float)];
                        for (var d = 0; d < v.Length; d++)
                        {
                            v[d] = BinaryPrimitives.ReadSingleLittleEndian(raw[(d * sizeof(float))..]);
                        }

                        vectors.Add(v);
                        break;
                    default: value.SkipLastField(); break;
                }
            }
        }

        return found
            ? (tag ?? "", type, vectors)
            : throw new QuiverException(QuiverErrorCode.InvalidArgument, "placeholder group has no placeholder");
    }
}
