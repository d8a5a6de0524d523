using System.Buffers.Binary;
using Google.Protobuf;
using Quiver.Protocol.Common;

namespace Quiver.Client.Remote;

/// <summary>
/// Writes and reads Milvus's <c>common.PlaceholderGroup</c>, the bytes of <c>SearchRequest.placeholder_group</c>: one
/// placeholder tagged <c>$0</c> of type FloatVector whose values are the query vectors, each as little-endian float32
/// components.
/// </summary>
internal static class Placeholders
{
    /// <summary>Milvus's PlaceholderType.FloatVector.</summary>
    public const int FloatVectorType = (int)PlaceholderType.FloatVector;

    /// <summary>The tag Milvus SDKs give the one placeholder of a search.</summary>
    public const string Tag = "$0";

    /// <summary>The serialized PlaceholderGroup of the query vectors.</summary>
    public static byte[] Encode(IReadOnlyList<float[]> vectors)
    {
        var value = new PlaceholderValue { Tag = Tag, Type = PlaceholderType.FloatVector };
        for (var i = 0; i < vectors.Count; i++)
        {
            var vector = vectors[i] ?? throw new QuiverException(QuiverErrorCode.InvalidArgument, $"search: query vector {i} is null");
            var bytes = new byte[vector.Length * sizeof(float)];
            for (var d = 0; d < vector.Length; d++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(d * sizeof(float)), vector[d]);
            }

            value.Values.Add(UnsafeByteOperations.UnsafeWrap(bytes));
        }

        return new PlaceholderGroup { Placeholders = { value } }.ToByteArray();
    }

    /// <summary>Reads a PlaceholderGroup of float vectors back (for tests and diagnostics): the tag, type and vectors of
    /// its first placeholder. Throws InvalidArgument when the bytes are not one.</summary>
    public static (string Tag, int Type, List<float[]> Vectors) Decode(ReadOnlySpan<byte> bytes)
    {
        PlaceholderGroup group;
        try
        {
            group = PlaceholderGroup.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"not a placeholder group: {e.Message}");
        }

        if (group.Placeholders.Count == 0)
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, "placeholder group has no placeholder");
        }

        var first = group.Placeholders[0];
        var vectors = new List<float[]>(first.Values.Count);
        foreach (var raw in first.Values)
        {
            if (raw.Length % sizeof(float) != 0)
            {
                throw new QuiverException(QuiverErrorCode.InvalidArgument, $"placeholder value {vectors.Count} has {raw.Length} bytes, not a whole number of float32");
            }

            var v = new float[raw.Length / sizeof(float)];
            for (var d = 0; d < v.Length; d++)
            {
                v[d] = BinaryPrimitives.ReadSingleLittleEndian(raw.Span[(d * sizeof(float))..]);
            }

            vectors.Add(v);
        }

        return (first.Tag, (int)first.Type, vectors);
    }
}
