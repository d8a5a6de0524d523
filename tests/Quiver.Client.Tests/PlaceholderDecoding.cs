using System.Buffers.Binary;
using Google.Protobuf;
using Quiver.Protocol.Common;

namespace Quiver.Client.Tests;

/// <summary>The converter tests' reader of the placeholder groups the client encodes (it was in the client assembly,
/// which never reads one back).</summary>
internal static class PlaceholderDecoding
{
    /// <summary>Reads a PlaceholderGroup of float vectors back (what the client encoded, read back by the converter tests): the tag, type and vectors of
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
